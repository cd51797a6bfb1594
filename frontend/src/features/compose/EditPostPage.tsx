export default function EditPostPage() {
  return <h1>EditPostPage</h1>;
}
