import { useMemo } from "react";
import { useParams } from "wouter";
import { Avatar } from "../../components/Avatar";
import { ErrorMessage } from "../../components/ErrorMessage";
import { NotFound } from "../../components/NotFound";
import { ApiError } from "../../lib/problem";
import { useSession } from "../../lib/useSession";
import { useTitle } from "../../lib/useTitle";
import { PostGrid } from "../feed/PostGrid";
import { useFeed } from "../feed/useFeed";
import { AvatarControls } from "./AvatarControls";
import { DisplayNameForm } from "./DisplayNameForm";
import { useProfile, type Profile } from "./useProfile";
import "./profile.css";

const memberSince = new Intl.DateTimeFormat("en", { month: "long", year: "numeric" });

function ProfilePosts({ profile, own }: { profile: Profile; own: boolean }) {
  const feed = useFeed({ author: profile.username });
  const name = profile.display_name || profile.username;
  // The profile is the newest word on its owner: a new avatar or name shows on the cards at once.
  const items = useMemo(
    () =>
      feed.items.map((post) =>
        post.author.id === profile.id
          ? { ...post, author: { ...post.author, display_name: profile.display_name, avatar: profile.avatar } }
          : post,
      ),
    [feed.items, profile],
  );
  return (
    <section className="profile-posts" aria-labelledby="profile-posts-heading">
      <h2 id="profile-posts-heading">{own ? "Your posts" : "Posts"}</h2>
      <PostGrid
        feed={{ ...feed, items }}
        label={`Posts by ${name}`}
        headingLevel={3}
        empty={<p>{own ? "You have not posted anything yet." : `${name} has not posted anything yet.`}</p>}
      />
    </section>
  );
}

export default function ProfilePage() {
  const { username = "" } = useParams<{ username: string }>();
  const result = useProfile(username);
  const session = useSession();
  const profile = result.profile;
  useTitle(profile ? profile.display_name || profile.username : null);

  if (result.status === "loading") {
    return (
      <p className="loading" aria-busy="true">
        Loading the profile…
      </p>
    );
  }
  if (result.status === "error") {
    if (result.error instanceof ApiError && result.error.status === 404) return <NotFound what="profile" />;
    return (
      <section>
        <h1>The profile could not be loaded</h1>
        <ErrorMessage error={result.error} onRetry={result.reload} />
      </section>
    );
  }

  const own = session.status === "signed-in" && session.user.id === result.profile.id;
  const shown = result.profile;
  return (
    <div className="profile">
      <header className="profile-header">
        <Avatar user={shown} size={128} />
        <div className="profile-info">
          <h1>{shown.display_name || shown.username}</h1>
          <p className="profile-handle">@{shown.username}</p>
          {shown.bio ? <p className="profile-bio">{shown.bio}</p> : null}
          <p className="profile-since">
            Member since <time dateTime={shown.created_at}>{memberSince.format(new Date(shown.created_at))}</time>
          </p>
          {own ? (
            <div className="profile-owner">
              <AvatarControls profile={shown} onChanged={result.replace} />
              <DisplayNameForm profile={shown} onChanged={result.replace} />
            </div>
          ) : null}
        </div>
      </header>
      <ProfilePosts profile={shown} own={own} />
    </div>
  );
}
