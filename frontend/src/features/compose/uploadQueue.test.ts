import { describe, expect, it } from "vitest";
import {
  MAX_IMAGES,
  altChanges,
  initialQueue,
  queueReducer,
  summarise,
  type QueueAction,
  type QueueState,
} from "./uploadQueue";
import { image } from "./testing";

const file = (name: string) => new File(["x"], name, { type: "image/jpeg" });

function run(state: QueueState, ...actions: QueueAction[]): QueueState {
  return actions.reduce(queueReducer, state);
}

function added(...names: string[]): QueueState {
  return run(initialQueue(), {
    type: "add",
    entries: names.map((name) => ({ key: name, file: file(name), previewUrl: `blob:${name}` })),
  });
}

const keys = (state: QueueState) => state.items.map((item) => item.key);
const statuses = (state: QueueState) => state.items.map((item) => item.status);

describe("the upload queue", () => {
  it("adds files as queued, after the images the post already has", () => {
    const state = run(initialQueue([image("a".repeat(24))]), {
      type: "add",
      entries: [{ key: "k1", file: file("photo.jpg"), previewUrl: "blob:1" }],
    });
    expect(keys(state)).toEqual([`image-${"a".repeat(24)}`, "k1"]);
    expect(statuses(state)).toEqual(["done", "queued"]);
    expect(summarise(state)).toMatchObject({ pending: true, waiting: 1, imageIds: null });
  });

  it("takes at most the post's limit of images and says how many were left out", () => {
    const names = Array.from({ length: MAX_IMAGES + 2 }, (_, index) => `p${index}.jpg`);
    const state = added(...names);
    expect(state.items).toHaveLength(MAX_IMAGES);
    expect(state.notice).toMatch(/at most 20 images: 2 files were not added/);
    expect(run(state, { type: "dismiss" }).notice).toBeNull();
  });

  it("runs an upload through progress to done, and is no longer pending", () => {
    let state = run(added("a.jpg"), { type: "start", key: "a.jpg" }, { type: "progress", key: "a.jpg", fraction: 0.4 });
    expect(state.items[0]).toMatchObject({ status: "uploading", progress: 0.4 });
    expect(summarise(state).pending).toBe(true);
    state = run(state, { type: "done", key: "a.jpg", image: image("1".repeat(24)) });
    expect(state.items[0]).toMatchObject({ status: "done", progress: 1 });
    expect(summarise(state)).toEqual({ waiting: 0, failed: 0, pending: false, imageIds: ["1".repeat(24)] });
  });

  it("keeps progress moving forward", () => {
    const state = run(
      added("a.jpg"),
      { type: "start", key: "a.jpg" },
      { type: "progress", key: "a.jpg", fraction: 0.6 },
      { type: "progress", key: "a.jpg", fraction: 0.3 },
    );
    expect(state.items[0]?.progress).toBe(0.6);
  });

  it("records a failure with its reason, blocks the gallery, and retries it from the queue", () => {
    let state = run(added("a.jpg"), { type: "start", key: "a.jpg" }, { type: "failed", key: "a.jpg", error: "The store refused it." });
    expect(state.items[0]).toMatchObject({ status: "failed", error: "The store refused it." });
    expect(summarise(state)).toMatchObject({ pending: false, failed: 1, imageIds: null });
    state = run(state, { type: "retry", key: "a.jpg" });
    expect(state.items[0]).toMatchObject({ status: "queued", error: null, progress: 0 });
    expect(summarise(state).pending).toBe(true);
  });

  it("cancelling a new upload drops it, and its late result is ignored", () => {
    let state = run(added("a.jpg", "b.jpg"), { type: "start", key: "a.jpg" }, { type: "cancel", key: "a.jpg" });
    expect(keys(state)).toEqual(["b.jpg"]);
    state = run(state, { type: "done", key: "a.jpg", image: image("1".repeat(24)) });
    expect(keys(state)).toEqual(["b.jpg"]);
  });

  it("cancel does nothing to an image that is already uploaded", () => {
    const done = run(added("a.jpg"), { type: "start", key: "a.jpg" }, { type: "done", key: "a.jpg", image: image("1".repeat(24)) });
    expect(run(done, { type: "cancel", key: "a.jpg" })).toBe(done);
  });

  it("removes any image", () => {
    const state = run(added("a.jpg", "b.jpg", "c.jpg"), { type: "remove", key: "b.jpg" });
    expect(keys(state)).toEqual(["a.jpg", "c.jpg"]);
  });

  it("moves an image and keeps the others in their order", () => {
    const start = added("a", "b", "c", "d");
    expect(keys(run(start, { type: "move", from: 0, to: 2 }))).toEqual(["b", "c", "a", "d"]);
    expect(keys(run(start, { type: "move", from: 3, to: 1 }))).toEqual(["a", "d", "b", "c"]);
    expect(run(start, { type: "move", from: 0, to: 4 })).toBe(start);
    expect(run(start, { type: "move", from: -1, to: 0 })).toBe(start);
  });

  it("the gallery's ids follow the order after a move", () => {
    let state = added("a", "b");
    state = run(
      state,
      { type: "start", key: "a" },
      { type: "start", key: "b" },
      { type: "done", key: "b", image: image("b".repeat(24)) },
      { type: "done", key: "a", image: image("a".repeat(24)) },
      { type: "move", from: 1, to: 0 },
    );
    expect(summarise(state).imageIds).toEqual(["b".repeat(24), "a".repeat(24)]);
  });

  it("keeps alt text changed after registration as a change to save, without uploading again", () => {
    const imageId = "1".repeat(24);
    let state = run(
      added("a.jpg"),
      { type: "start", key: "a.jpg" },
      { type: "done", key: "a.jpg", image: image(imageId, "A cat") },
    );
    // Spaces around the same text are no change: the API is sent trimmed text.
    expect(altChanges(run(state, { type: "setAlt", key: "a.jpg", alt: " A cat " }))).toEqual([]);
    state = run(state, { type: "setAlt", key: "a.jpg", alt: " A cat on a mat " });
    expect(state.items[0]).toMatchObject({ status: "done", alt: " A cat on a mat " });
    expect(summarise(state)).toMatchObject({ pending: false, imageIds: [imageId] });
    expect(altChanges(state)).toEqual([{ key: "a.jpg", imageId, alt: "A cat on a mat" }]);
    // The API's answer to the PATCH is what it has now: nothing left to send.
    state = run(state, { type: "altSaved", image: image(imageId, "A cat on a mat") });
    expect(state.items[0]?.image?.alt).toBe("A cat on a mat");
    expect(altChanges(state)).toEqual([]);
  });

  it("an image the post already had takes new alt text too, and empty text clears it", () => {
    const imageId = "1".repeat(24);
    const key = `image-${imageId}`;
    const state = run(initialQueue([image(imageId, "Old"), image("2".repeat(24))]), { type: "setAlt", key, alt: "New" });
    expect(altChanges(state)).toEqual([{ key, imageId, alt: "New" }]);
    expect(altChanges(run(state, { type: "setAlt", key, alt: "  " }))).toEqual([{ key, imageId, alt: null }]);
  });

  it("sends no alt text for an image still uploading (register takes it), nor for one removed", () => {
    let state = run(added("a.jpg"), { type: "start", key: "a.jpg" }, { type: "setAlt", key: "a.jpg", alt: "A cat" });
    expect(altChanges(state)).toEqual([]);
    state = run(state, { type: "done", key: "a.jpg", image: image("1".repeat(24), "A cat") });
    expect(altChanges(state)).toEqual([]);
    expect(run(state, { type: "altSaved", image: image("9".repeat(24), "Other") })).toBe(state);
  });

  it("reset starts over from a post's images", () => {
    const state = run(added("a.jpg"), { type: "reset", images: [image("2".repeat(24))] });
    expect(keys(state)).toEqual([`image-${"2".repeat(24)}`]);
    expect(summarise(state).pending).toBe(false);
  });
});
