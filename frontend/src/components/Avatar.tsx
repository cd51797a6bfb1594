import type { Author } from "../lib/api";

interface Props {
  user: Pick<Author, "username" | "display_name" | "avatar">;
  size: 32 | 48 | 96 | 128;
}

/** A round avatar, or the initial on a colour derived from the username. */
export function Avatar({ user, size }: Props) {
  const url = size <= 48 ? user.avatar?.small : size <= 96 ? user.avatar?.medium : user.avatar?.large;
  const style = { width: size, height: size };
  if (url) {
    return <img className="avatar" src={url} alt="" width={size} height={size} style={style} loading="lazy" />;
  }
  const hue = [...user.username].reduce((sum, char) => sum + char.charCodeAt(0), 0) % 360;
  return (
    <span
      className="avatar avatar-initial"
      aria-hidden="true"
      style={{ ...style, background: `hsl(${hue} 45% 40%)`, fontSize: size * 0.45 }}
    >
      {(user.display_name || user.username).slice(0, 1).toUpperCase()}
    </span>
  );
}
