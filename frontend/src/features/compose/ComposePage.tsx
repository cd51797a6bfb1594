import { Link, useLocation } from "wouter";
import { api, call } from "../../lib/api";
import { useSession } from "../../lib/useSession";
import { useTitle } from "../../lib/useTitle";
import { PostForm, type PostValues } from "./PostForm";
import type { Discarder, Uploader } from "./useUploadQueue";

interface Props {
  /** Injected by tests; the real uploader otherwise. */
  upload?: Uploader;
  discard?: Discarder;
}

/** /new: write a post; once the API has it, open it. */
export default function ComposePage({ upload, discard }: Props = {}) {
  useTitle("New post");
  const [, navigate] = useLocation();
  const state = useSession();
  const unverified = state.status === "signed-in" && !state.user.email_verified;

  async function publish(values: PostValues) {
    const post = await call(api.POST("/posts", { body: values }));
    navigate(`/p/${post.id}`);
  }

  return (
    <section className="compose-page">
      <h1>New post</h1>
      {unverified ? (
        // Said before the work is done: the API refuses uploads and posts until then.
        <p className="compose-notice">
          Verify your email address to post: open the link we emailed you, or{" "}
          <Link href="/settings">resend it from your settings</Link>.
        </p>
      ) : null}
      <PostForm
        submitLabel="Publish"
        onSubmit={publish}
        {...(upload ? { upload } : {})}
        {...(discard ? { discard } : {})}
      />
    </section>
  );
}
