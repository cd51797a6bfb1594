export default function AdminUsersPage() {
  return <h1>AdminUsersPage</h1>;
}
