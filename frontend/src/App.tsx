import { lazy, Suspense, useEffect } from "react";
import { Route, Switch, useLocation } from "wouter";
import { Layout } from "./components/Layout";
import { NotFound } from "./components/NotFound";
import { RequireAuth } from "./components/RequireAuth";
import FeedPage from "./features/feed/FeedPage";

// The feed is the first paint; every other page loads when it is opened.
const PostPage = lazy(() => import("./features/posts/PostPage"));
const ComposePage = lazy(() => import("./features/compose/ComposePage"));
const EditPostPage = lazy(() => import("./features/compose/EditPostPage"));
const ProfilePage = lazy(() => import("./features/profile/ProfilePage"));
const LoginPage = lazy(() => import("./features/auth/LoginPage"));
const SignupPage = lazy(() => import("./features/auth/SignupPage"));
const VerifyEmailPage = lazy(() => import("./features/auth/VerifyEmailPage"));
const ForgotPasswordPage = lazy(() => import("./features/auth/ForgotPasswordPage"));
const ResetPasswordPage = lazy(() => import("./features/auth/ResetPasswordPage"));
const SettingsPage = lazy(() => import("./features/settings/SettingsPage"));
const AdminUsersPage = lazy(() => import("./features/admin/AdminUsersPage"));

/** A new page starts at its top, as a full page load would (filters in the query keep the scroll). */
function ScrollToTopOnNavigate() {
  const [location] = useLocation();
  useEffect(() => {
    window.scrollTo(0, 0);
  }, [location]);
  return null;
}

export function App() {
  return (
    <Layout>
      <ScrollToTopOnNavigate />
      <Suspense fallback={<p className="loading" aria-busy="true">Loading…</p>}>
        <Switch>
          <Route path="/" component={FeedPage} />
          <Route path="/p/:id/edit">
            <RequireAuth>
              <EditPostPage />
            </RequireAuth>
          </Route>
          <Route path="/p/:id" component={PostPage} />
          <Route path="/new">
            <RequireAuth>
              <ComposePage />
            </RequireAuth>
          </Route>
          <Route path="/u/:username" component={ProfilePage} />
          <Route path="/login" component={LoginPage} />
          <Route path="/signup" component={SignupPage} />
          <Route path="/verify-email" component={VerifyEmailPage} />
          <Route path="/forgot-password" component={ForgotPasswordPage} />
          <Route path="/reset-password" component={ResetPasswordPage} />
          <Route path="/settings">
            <RequireAuth>
              <SettingsPage />
            </RequireAuth>
          </Route>
          <Route path="/admin/users">
            <RequireAuth admin>
              <AdminUsersPage />
            </RequireAuth>
          </Route>
          <Route>
            <NotFound />
          </Route>
        </Switch>
      </Suspense>
    </Layout>
  );
}
