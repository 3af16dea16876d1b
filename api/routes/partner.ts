import type { ReferralService } from '../referral-service.js';
import type { ApiApp, Deny } from '../server.js';

/** A partner's own tasks across referrals (partners see nothing else). */
export function registerPartnerRoutes(api: ApiApp, service: ReferralService, deny: Deny): void {
  api.get('/partner/tasks', { schema: { tags: ['partners'], summary: "The calling partner's tasks, open and done, on the referrals where it has a task open" } }, async (request, reply) => {
    const principal = request.principal!;
    if (principal.role !== 'partner' || !principal.organisation) return deny(request, reply, 'only partner identities have a task list');
    return { organisation: principal.organisation, tasks: await service.partnerTasks(principal.organisation) };
  });
}
