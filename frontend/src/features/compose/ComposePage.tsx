export default function ComposePage() {
  return <h1>ComposePage</h1>;
}
