import { useState } from "react";
import type { Image } from "../lib/api";

interface Props {
  image: Image;
  /** The `sizes` attribute: how wide the layout shows this image. */
  sizes: string;
  /** The first image a page shows is its LCP candidate: fetch it early, never lazily. */
  priority?: boolean;
  className?: string;
  /** Crop to this ratio (width / height) instead of the image's own. */
  ratio?: number;
}

/**
 * An API image: `srcset` + `sizes`, so the browser picks the width the layout
 * shows; the blurred `placeholder` underneath until it has loaded; and the box
 * reserved at the aspect ratio, so nothing moves when it arrives.
 */
export function ResponsiveImage({ image, sizes, priority = false, className, ratio }: Props) {
  const [loaded, setLoaded] = useState(false);
  const aspect = ratio ?? image.width / image.height;
  return (
    <div
      className={["image-box", loaded ? "is-loaded" : "", className ?? ""].join(" ").trim()}
      style={{ aspectRatio: String(aspect) }}
    >
      {/* An <img>, not a CSS background, so off-screen placeholders wait too. */}
      <img
        className="image-placeholder"
        src={image.placeholder}
        alt=""
        aria-hidden="true"
        loading={priority ? "eager" : "lazy"}
        decoding="async"
      />
      <img
        src={image.variants.card}
        srcSet={image.srcset}
        sizes={sizes}
        width={image.width}
        height={image.height}
        alt={image.alt ?? ""}
        loading={priority ? "eager" : "lazy"}
        decoding="async"
        {...(priority ? { fetchPriority: "high" as const } : {})}
        onLoad={() => setLoaded(true)}
      />
    </div>
  );
}
