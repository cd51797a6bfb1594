import { fireEvent, render, screen } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import type { Image } from "../lib/api";
import { ResponsiveImage } from "./ResponsiveImage";

const image: Image = {
  id: "6b0e8811ed9048c4977cfa59",
  width: 1200,
  height: 800,
  format: "jpeg",
  size: 120_000,
  alt: "A harbour at dawn",
  url: "http://web.test/api/media/a.jpg",
  variants: {
    thumb: "http://web.test/api/media/a.jpg?tr=w-320,h-320",
    card: "http://web.test/api/media/a.jpg?tr=w-640",
    full: "http://web.test/api/media/a.jpg?tr=w-1600",
  },
  srcset: "http://web.test/api/media/a.jpg?tr=w-320 320w, http://web.test/api/media/a.jpg?tr=w-640 640w",
  placeholder: "http://web.test/api/media/a.jpg?tr=w-32,bl-10",
};

describe("ResponsiveImage", () => {
  it("lets the browser pick a width from srcset and sizes, with the box reserved at the ratio", () => {
    render(<ResponsiveImage image={image} sizes="(min-width: 60rem) 33vw, 100vw" />);
    const img = screen.getByRole("img", { name: "A harbour at dawn" });
    expect(img).toHaveAttribute("srcset", image.srcset);
    expect(img).toHaveAttribute("sizes", "(min-width: 60rem) 33vw, 100vw");
    expect(img).toHaveAttribute("loading", "lazy");
    expect(img.parentElement).toHaveStyle({ aspectRatio: "1.5" });
  });

  it("shows the blurred placeholder until the image has loaded", () => {
    const { container } = render(<ResponsiveImage image={image} sizes="100vw" />);
    const box = container.firstElementChild!;
    const placeholder = container.querySelector(`img[src="${image.placeholder}"]`);
    expect(placeholder).toHaveAttribute("aria-hidden", "true");
    expect(box).not.toHaveClass("is-loaded");
    fireEvent.load(screen.getByRole("img", { name: "A harbour at dawn" }));
    expect(box).toHaveClass("is-loaded");
  });

  it("fetches the first image early and at high priority", () => {
    render(<ResponsiveImage image={image} sizes="100vw" priority ratio={4 / 3} />);
    const img = screen.getByRole("img", { name: "A harbour at dawn" });
    expect(img).toHaveAttribute("loading", "eager");
    expect(img).toHaveAttribute("fetchpriority", "high");
  });
});
