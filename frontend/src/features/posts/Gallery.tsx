import { useEffect, useRef, useState, type KeyboardEvent } from "react";
import { createPortal } from "react-dom";
import { ResponsiveImage } from "../../components/ResponsiveImage";
import type { Image, Post } from "../../lib/api";
import { altText } from "../feed/PostGrid";

/** The stage spans the post's column: keep in step with `.post` in posts.css (58rem, 1rem padding). */
const STAGE_SIZES = "(min-width: 60rem) 58rem, calc(100vw - 2rem)";

/** The width the `full` variant really has: fitted inside 1600×1600, never enlarged. */
function fullWidth(image: Image): number {
  return Math.round(image.width * Math.min(1, 1600 / image.width, 1600 / image.height));
}

/** The API's srcset, plus the full-size variant when it is wider than the srcset's widest. */
function fullSrcSet(image: Image): string {
  const widths = [...image.srcset.matchAll(/\s(\d+)w/g)].map((match) => Number(match[1]));
  const full = fullWidth(image);
  return full > Math.max(0, ...widths) ? `${image.srcset}, ${image.variants.full} ${full}w` : image.srcset;
}

/** ←/→ page (wrapping round), whatever control in the gallery has the focus. */
function arrowStep(event: KeyboardEvent): -1 | 1 | 0 {
  if (event.altKey || event.ctrlKey || event.metaKey || event.shiftKey) return 0;
  if (event.key === "ArrowLeft") return -1;
  if (event.key === "ArrowRight") return 1;
  return 0;
}

const FOCUSABLE = 'button:not([disabled]), a[href], [tabindex]:not([tabindex="-1"])';

interface DialogProps {
  post: Pick<Post, "title" | "images">;
  index: number;
  onStep: (step: -1 | 1) => void;
  onClose: () => void;
}

/**
 * The current image as large as the screen allows, in a modal dialog: the
 * focus moves in (to Close) and stays in, the page behind is inert, ←/→ page,
 * Esc closes; the gallery puts the focus back on the button that opened it.
 */
function FullSizeDialog({ post, index, onStep, onClose }: DialogProps) {
  const dialog = useRef<HTMLDivElement>(null);
  const close = useRef<HTMLButtonElement>(null);
  const image = post.images[index]!;
  const count = post.images.length;

  useEffect(() => {
    const host = dialog.current?.parentElement;
    const others = [...document.body.children].filter(
      (element) => element !== host && !element.hasAttribute("inert"),
    );
    others.forEach((element) => element.setAttribute("inert", ""));
    const overflow = document.body.style.overflow;
    document.body.style.overflow = "hidden";
    close.current?.focus();
    return () => {
      others.forEach((element) => element.removeAttribute("inert"));
      document.body.style.overflow = overflow;
    };
  }, []);

  function onKeyDown(event: KeyboardEvent<HTMLDivElement>) {
    // Handled here only: React bubbles a portal's events to the gallery too.
    event.stopPropagation();
    if (event.key === "Escape") {
      event.preventDefault();
      onClose();
      return;
    }
    const step = arrowStep(event);
    if (step !== 0 && count > 1) {
      event.preventDefault();
      onStep(step);
      return;
    }
    if (event.key === "Tab") {
      // Keep the focus inside the dialog.
      const items = [...(dialog.current?.querySelectorAll<HTMLElement>(FOCUSABLE) ?? [])];
      const first = items[0];
      const last = items.at(-1);
      if (event.shiftKey && document.activeElement === first) {
        event.preventDefault();
        last?.focus();
      } else if (!event.shiftKey && document.activeElement === last) {
        event.preventDefault();
        first?.focus();
      }
    }
  }

  return createPortal(
    <div className="lightbox-host">
      <div
        ref={dialog}
        className="lightbox"
        role="dialog"
        aria-modal="true"
        // A click on the picture keeps the focus (and so the keys) in the dialog.
        tabIndex={-1}
        aria-label={`${post.title}, full size`}
        onKeyDown={onKeyDown}
      >
        <div className="lightbox-bar">
          <p className="lightbox-count" aria-live="polite">
            Image {index + 1} of {count}
          </p>
          <button ref={close} type="button" className="button" onClick={onClose}>
            Close
          </button>
        </div>
        <div className="lightbox-stage" style={{ backgroundImage: `url("${image.placeholder}")` }}>
          <img
            key={image.id}
            src={image.variants.full}
            srcSet={fullSrcSet(image)}
            sizes="100vw"
            width={image.width}
            height={image.height}
            alt={altText(image, index, post)}
            decoding="async"
          />
        </div>
        {count > 1 ? (
          <div className="lightbox-nav">
            <button type="button" className="button" onClick={() => onStep(-1)}>
              <span aria-hidden="true">←</span> Previous image
            </button>
            <button type="button" className="button" onClick={() => onStep(1)}>
              Next image <span aria-hidden="true">→</span>
            </button>
          </div>
        ) : null}
      </div>
    </div>,
    document.body,
  );
}

interface GalleryProps {
  post: Pick<Post, "title" | "images">;
}

/**
 * The post's images: the current one large, thumbnails to pick one, previous
 * and next. ←/→ page while any of its controls has the focus; "View full size"
 * opens the image in a dialog.
 */
export function Gallery({ post }: GalleryProps) {
  const [index, setIndex] = useState(0);
  const [open, setOpen] = useState(false);
  const thumbs = useRef<HTMLUListElement>(null);
  const opener = useRef<HTMLButtonElement>(null);
  const wasOpen = useRef(false);

  // Back to "View full size" once the dialog has gone (and the page is no longer inert).
  useEffect(() => {
    if (wasOpen.current && !open) opener.current?.focus();
    wasOpen.current = open;
  }, [open]);
  const count = post.images.length;
  const current = Math.min(index, count - 1);
  const image = post.images[current];
  if (!image) return null;

  // One stage for every image (no jump when paging): the widest ratio, within reason.
  const widest = Math.max(...post.images.map((item) => item.width / item.height));
  const ratio = Math.min(2, Math.max(0.75, widest));

  function step(by: -1 | 1, focusThumb = false) {
    const next = (current + by + count) % count;
    setIndex(next);
    if (focusThumb) thumbs.current?.querySelectorAll("button")[next]?.focus();
  }

  function onKeyDown(event: KeyboardEvent<HTMLElement>) {
    const by = arrowStep(event);
    if (by === 0 || count < 2) return;
    event.preventDefault();
    // On a thumbnail, the focus follows the current image, as in a tab list.
    const onThumb = thumbs.current?.contains(event.target as Node) ?? false;
    step(by, onThumb);
  }

  return (
    <section className="gallery" aria-label="Gallery" onKeyDown={onKeyDown}>
      <div className="gallery-stage" style={{ maxWidth: `calc(62vh * ${ratio})` }}>
        <ResponsiveImage
          key={image.id}
          image={{ ...image, alt: altText(image, current, post) }}
          sizes={STAGE_SIZES}
          ratio={ratio}
          priority={current === 0}
          className="gallery-image"
        />
        {count > 1 ? (
          <>
            <button type="button" className="gallery-step gallery-prev" aria-label="Previous image" onClick={() => step(-1)}>
              <span aria-hidden="true">‹</span>
            </button>
            <button type="button" className="gallery-step gallery-next" aria-label="Next image" onClick={() => step(1)}>
              <span aria-hidden="true">›</span>
            </button>
          </>
        ) : null}
      </div>
      <div className="gallery-bar">
        <p className="gallery-count" aria-live="polite">
          {count > 1 ? `Image ${current + 1} of ${count}` : null}
        </p>
        <button ref={opener} type="button" className="button" onClick={() => setOpen(true)}>
          View full size
        </button>
      </div>
      {count > 1 ? (
        <ul className="gallery-thumbs" ref={thumbs}>
          {post.images.map((item, i) => (
            <li key={item.id}>
              <button
                type="button"
                aria-label={`Image ${i + 1} of ${count}`}
                aria-current={i === current ? "true" : undefined}
                onClick={() => setIndex(i)}
              >
                <img src={item.variants.thumb} alt="" width={64} height={64} loading="lazy" decoding="async" />
              </button>
            </li>
          ))}
        </ul>
      ) : null}
      {open ? (
        <FullSizeDialog post={post} index={current} onStep={(by) => step(by)} onClose={() => setOpen(false)} />
      ) : null}
    </section>
  );
}
