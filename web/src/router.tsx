/** The routes. Pages are loaded on first visit, so the first screen downloads only what it shows. */
import type { QueryClient } from '@tanstack/react-query';
import { createRootRouteWithContext, createRoute, createRouter, lazyRouteComponent, redirect } from '@tanstack/react-router';
import { session } from './api/client';
import { Layout } from './Layout';

const root = createRootRouteWithContext<{ queryClient: QueryClient }>()({ component: Layout });
const parent = () => root;

function requireLogin({ location }: { location: { href: string } }) {
  if (!session.tokens()) throw redirect({ to: '/login', search: { next: location.href } });
}

const text = (s: Record<string, unknown>, key: string) => (typeof s[key] === 'string' ? (s[key] as string) : undefined);

const routeTree = root.addChildren([
  createRoute({ getParentRoute: parent, path: '/', component: lazyRouteComponent(() => import('./pages/Home')) }),
  createRoute({ getParentRoute: parent, path: '/signup', component: lazyRouteComponent(() => import('./pages/SignUp')) }),
  createRoute({
    getParentRoute: parent,
    path: '/verify',
    validateSearch: (s: Record<string, unknown>) => ({ email: text(s, 'email') }),
    component: lazyRouteComponent(() => import('./pages/Verify')),
  }),
  createRoute({
    getParentRoute: parent,
    path: '/login',
    validateSearch: (s: Record<string, unknown>) => ({ next: text(s, 'next') }),
    component: lazyRouteComponent(() => import('./pages/Login')),
  }),
  createRoute({ getParentRoute: parent, path: '/forgot', component: lazyRouteComponent(() => import('./pages/Forgot')) }),
  createRoute({
    getParentRoute: parent,
    path: '/reset',
    validateSearch: (s: Record<string, unknown>) => ({ token: text(s, 'token') }),
    component: lazyRouteComponent(() => import('./pages/Reset')),
  }),
  createRoute({ getParentRoute: parent, path: '/profile', beforeLoad: requireLogin, component: lazyRouteComponent(() => import('./pages/Profile')) }),
  createRoute({ getParentRoute: parent, path: '/characters', beforeLoad: requireLogin, component: lazyRouteComponent(() => import('./pages/Characters')) }),
  createRoute({ getParentRoute: parent, path: '/characters/$id', beforeLoad: requireLogin, component: lazyRouteComponent(() => import('./pages/CharacterEditor')) }),
  createRoute({ getParentRoute: parent, path: '/stories', beforeLoad: requireLogin, component: lazyRouteComponent(() => import('./pages/Stories')) }),
  createRoute({ getParentRoute: parent, path: '/stories/new', beforeLoad: requireLogin, component: lazyRouteComponent(() => import('./pages/StoryCreator')) }),
  createRoute({ getParentRoute: parent, path: '/stories/$id', beforeLoad: requireLogin, component: lazyRouteComponent(() => import('./pages/StoryReader')) }),
  createRoute({ getParentRoute: parent, path: '/jobs', beforeLoad: requireLogin, component: lazyRouteComponent(() => import('./pages/Jobs')) }),
  createRoute({ getParentRoute: parent, path: '/admin/users', beforeLoad: requireLogin, component: lazyRouteComponent(() => import('./pages/AdminUsers')) }),
  createRoute({
    getParentRoute: parent,
    path: '/admin/users/$id/usage',
    beforeLoad: requireLogin,
    validateSearch: (s: Record<string, unknown>) => ({ name: text(s, 'name') }),
    component: lazyRouteComponent(() => import('./pages/AdminUsage')),
  }),
  createRoute({ getParentRoute: parent, path: '/admin/jobs', beforeLoad: requireLogin, component: lazyRouteComponent(() => import('./pages/AdminFailedJobs')) }),
]);

export const router = createRouter({ routeTree, context: { queryClient: undefined! }, defaultPreload: 'intent' });

declare module '@tanstack/react-router' {
  interface Register {
    router: typeof router;
  }
}
