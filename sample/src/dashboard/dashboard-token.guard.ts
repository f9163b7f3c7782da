import { Controller, Get, Injectable, Query, Res, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { timingSafeEqual } from 'node:crypto';

/**
 * An example of putting the dashboard behind the app's own guard, not security advice: one shared
 * token (DASHBOARD_TOKEN, default "change-me"), sent as the `x-dashboard-token` header or the
 * `dashboard_token` cookie that GET /dashboard-login?token=… sets. A real app uses its own auth
 * (sessions, OAuth) and `authorize` for who may do what.
 */
export const dashboardToken = (): string => process.env.DASHBOARD_TOKEN ?? 'change-me';

function cookie(header: string | undefined, name: string): string | undefined {
  for (const part of (header ?? '').split(';')) {
    const [k, ...v] = part.trim().split('=');
    if (k === name) return decodeURIComponent(v.join('='));
  }
  return undefined;
}

const same = (a: string, b: string) => a.length === b.length && timingSafeEqual(Buffer.from(a), Buffer.from(b));

@Injectable()
export class DashboardTokenGuard implements CanActivate {
  canActivate(ctx: ExecutionContext): boolean {
    const req = ctx.switchToHttp().getRequest<{ headers: Record<string, string | undefined> }>();
    const given = req.headers['x-dashboard-token'] ?? cookie(req.headers.cookie, 'dashboard_token');
    return typeof given === 'string' && same(given, dashboardToken());
  }
}

/** Sets the token cookie and sends the browser to the dashboard. */
@Controller('dashboard-login')
export class DashboardLoginController {
  @Get()
  login(@Query('token') token: string | undefined, @Res() res: { cookie(n: string, v: string, o: object): void; redirect(url: string): void; status(n: number): { send(b: string): void } }) {
    if (typeof token !== 'string' || !same(token, dashboardToken())) return res.status(403).send('wrong token');
    res.cookie('dashboard_token', token, { httpOnly: true, sameSite: 'strict', path: '/' });
    res.redirect('queues/');
  }
}
