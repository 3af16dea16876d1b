import type { Client } from '@temporalio/client';
import { existsSync, mkdirSync } from 'node:fs';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startReferral } from '../../bridge/intake.js';
import { registerConsole } from '../../api/console.js';
import type { ApiApp } from '../../api/server.js';
import type { ApiRole } from '../../config/identities.js';
import type { ReferralDetectedV1 } from '../../schemas/intake.js';
import { detected, shippedPolicy, uniqueId } from '../support/fixtures.js';
import { listenOnLoopback, startTestApi, startTestEngine, testIdentities, unusedTopics, type TestEngine } from '../support/engine-harness.js';
import { eventually } from '../support/kafka-harness.js';
import { repoRoot } from '../support/stack-paths.js';

/**
 * The operator console and the partner page, driven in real headless Chromium (Debian's
 * `chromium`, installed by scripts/install-browser.sh) against the API on a real Temporal dev
 * server. Screenshots of both pages land in test-results/.
 */
const CHROMIUM = '/usr/bin/chromium';
const temporalAddress = inject('temporalAddress');
const taskQueue = uniqueId('console-queue');
const temporalUiUrl = 'http://127.0.0.1:18233';
const signInHint = 'Development keys (this machine only): .stack/api-keys.json';
const screenshots = `${repoRoot}test-results`;

const people: Array<{ id: string; agency: string; role: ApiRole; organisation?: string }> = [
  { id: 'fia-officer', agency: 'FIA', role: 'officer' },
  { id: 'swd-officer', agency: 'SWD', role: 'officer' },
  { id: 'operator', agency: 'MOI', role: 'operator' },
  { id: 'iom', agency: 'PARTNER', role: 'partner', organisation: 'IOM' },
];
const { keyOf, identities, auth } = testIdentities(people, 'test-key-');

describe('operator console and partner page in headless Chromium', () => {
  let engine: TestEngine;
  let client: Client;
  let app: ApiApp;
  let browser: Browser;
  let baseUrl: string;
  const contexts: BrowserContext[] = [];
  const pageErrors: string[] = [];

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) {
      throw new Error(`${CHROMIUM} is missing: run 'bash scripts/install-browser.sh' (as root: apt-get install -y chromium)`);
    }
    engine = await startTestEngine({ temporalAddress, taskQueue, topics: unusedTopics, source: 'urn:test' });
    client = engine.client;
    const { pino } = await import('pino');
    const logger = pino({ level: 'silent' });
    app = await startTestApi({
      client,
      taskQueue,
      temporalUiUrl,
      auth: { identities },
      logger,
      plugins: [(api) => registerConsole(api, { temporalUiUrl, namespace: 'default', signInHint })],
    });
    baseUrl = await listenOnLoopback(app);
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    mkdirSync(screenshots, { recursive: true });
  });

  afterAll(async () => {
    for (const context of contexts) await context.close().catch(() => undefined);
    await browser?.close();
    await app?.close();
    await engine?.stop();
  });

  /** A fresh browser profile (own sessionStorage) whose page fails the test on any script error. */
  async function newPage(): Promise<Page> {
    const context = await browser.newContext({ viewport: { width: 1440, height: 900 }, timezoneId: 'UTC' });
    contexts.push(context);
    const page = await context.newPage();
    page.setDefaultTimeout(30_000);
    page.on('pageerror', (err) => pageErrors.push(err.message));
    page.on('console', (message) => {
      // Chromium logs every non-2xx response ("Failed to load resource"); the tests check those answers themselves.
      if (message.type() === 'error' && !message.text().startsWith('Failed to load resource')) pageErrors.push(message.text());
    });
    return page;
  }

  async function signIn(page: Page, path: string, who: string): Promise<void> {
    await page.goto(`${baseUrl}${path}`);
    // The sign-in card says where this deployment's keys are (API_SIGNIN_HINT).
    await page.locator('#signin-keys').waitFor({ state: 'visible' });
    expect(await page.locator('#signin-keys').textContent()).toBe(signInHint);
    await page.locator('#api-key').fill(keyOf(who));
    await page.locator('#signin button[type=submit]').click();
    await page.locator('#session').waitFor({ state: 'visible' });
  }

  async function submit(referral: ReferralDetectedV1): Promise<ReferralDetectedV1> {
    const res = await app.inject({ method: 'POST', url: '/referrals', headers: auth('fia-officer'), payload: referral });
    expect(res.statusCode, res.body).toBe(201);
    await eventually(
      async () => (await app.inject({ method: 'GET', url: `/referrals/${referral.referralId}`, headers: auth('operator') })).json().referral?.stage,
      (stage) => stage === 'SCREENING',
      30_000,
      `${referral.referralId} in SCREENING`,
    );
    return referral;
  }

  async function act(who: string, referralId: string, name: string, payload: object) {
    return app.inject({ method: 'POST', url: `/referrals/${referralId}/actions/${name}`, headers: auth(who), payload });
  }

  /** Acknowledged and screened: a confirmed adult victim who consents, not at risk, so both tracks start. */
  async function screen(referralId: string, reason?: string): Promise<void> {
    const ack = await act('fia-officer', referralId, 'acknowledge', reason ? { reason } : {});
    expect(ack.statusCode, ack.body).toBe(200);
    const screened = await act('fia-officer', referralId, 'complete-screening', { outcome: 'CONFIRMED', victimIdentified: true, victimAtRisk: false, consent: 'GIVEN' });
    expect(screened.statusCode, screened.body).toBe(200);
  }

  /** The referrals the operator's list shows (Temporal visibility catches up within a moment). */
  type Listed = { referralId: string; stage?: string; nextDeadline?: string; slaBreached?: boolean };
  async function listed(ids: string[], accept: (r: Listed) => boolean = () => true) {
    return eventually(
      async () => ((await app.inject({ method: 'GET', url: '/referrals?limit=1000', headers: auth('operator') })).json().referrals ?? []) as Listed[],
      (list) => ids.every((id) => list.some((r) => r.referralId === id && accept(r))),
      30_000,
      `${ids.join(', ')} listed`,
    );
  }

  it('serves the pages and their assets with a strict content security policy and no external URL', async () => {
    for (const [path, type] of [
      ['/console', 'text/html'],
      ['/console/app.js', 'text/javascript'],
      ['/console/common.js', 'text/javascript'],
      ['/console/app.css', 'text/css'],
      ['/partner', 'text/html'],
      ['/partner/app.js', 'text/javascript'],
    ] as const) {
      const res = await app.inject({ method: 'GET', url: path });
      expect(res.statusCode, path).toBe(200);
      expect(res.headers['content-type']).toContain(type);
      expect(res.headers['content-security-policy']).toContain("script-src 'self'");
      expect(res.body).not.toMatch(/https?:\/\/(?!127\.0\.0\.1)/);
      expect(res.body).not.toMatch(/innerHTML|outerHTML|insertAdjacentHTML|document\.write/);
    }
    const config = await app.inject({ method: 'GET', url: '/console/config' });
    expect(config.json()).toEqual({ temporalUiUrl, namespace: 'default', signInHint });
    const root = await app.inject({ method: 'GET', url: '/' });
    expect([root.statusCode, root.headers['location']]).toEqual([302, '/console']);
    // The data stays behind the API key.
    expect((await app.inject({ method: 'GET', url: '/referrals' })).statusCode).toBe(401);
  });

  it('shows the board by stage and case type, SLA heat, load per agency and a referral timeline, and refreshes itself', async () => {
    const markup = '<img id="xss" src="x"> <b>not bold</b>';
    const trafficking = await submit(detected());
    const smuggling = await submit(detected({ facts: { caseType: 'SMUGGLING', location: { province: 'SINDH', district: 'Karachi' } } }));
    const fja = await submit(
      detected({ persons: [], facts: { caseType: 'FRAUDULENT_JOB_AD', location: { province: 'PUNJAB', district: 'Gujrat' }, online: { platform: 'social-media', url: 'https://example.invalid/ad' } } }),
    );
    await screen(trafficking.referralId, markup);
    // One referral under a policy whose acknowledgement is due in 2 s: it breaches and climbs the
    // escalation ladder (reminder, breach, district, provincial, national committee) within seconds.
    const fast = shippedPolicy();
    fast.sla['acknowledge'] = { deadline: { hours: 2 / 3600 } };
    const overdue = detected({ facts: { location: { province: 'KHYBER_PAKHTUNKHWA', district: 'Peshawar' } } });
    expect(await startReferral({ client, taskQueue, policy: fast }, overdue, { eventId: `test/${overdue.referralId}`, source: 'urn:test' })).toBe('started');
    await eventually(
      async () => (await app.inject({ method: 'GET', url: `/referrals/${overdue.referralId}`, headers: auth('operator') })).json().referral?.sla ?? [],
      (clocks: Array<{ step: string; firedRungs: string[] }>) => (clocks.find((c) => c.step === 'acknowledge')?.firedRungs.length ?? 0) >= 3,
      30_000,
      `${overdue.referralId} escalated to a committee`,
    );
    await listed([overdue.referralId], (r) => r.slaBreached === true);
    const ids = [trafficking.referralId, smuggling.referralId, fja.referralId];
    await listed(ids, (r) => r.stage !== undefined);
    // In progress, with the tracks' next deadline rolled up into the referral's.
    await listed([trafficking.referralId], (r) => r.stage === 'IN_PROGRESS' && r.nextDeadline !== undefined);

    const page = await newPage();
    await signIn(page, '/console', 'operator');
    await expect.poll(() => page.locator('#who').textContent()).toBe('operator · MOI · operator');

    // The list: one row per referral, with its stage and case type and a link to the Temporal UI.
    const row = (id: string) => page.locator(`#referrals-table tr[data-referral-id="${id}"]`);
    for (const id of ids) await row(id).waitFor();
    expect(await row(trafficking.referralId).getAttribute('data-stage')).toBe('IN_PROGRESS');
    expect(await row(smuggling.referralId).getAttribute('data-stage')).toBe('SCREENING');
    expect(await row(smuggling.referralId).getAttribute('data-case-type')).toBe('SMUGGLING');
    expect(await row(fja.referralId).getAttribute('data-case-type')).toBe('FRAUDULENT_JOB_AD');
    expect(await row(fja.referralId).locator('td').nth(3).textContent()).toBe('NCCIA');
    expect(await row(smuggling.referralId).locator('a.temporal-link').getAttribute('href')).toBe(
      `${temporalUiUrl}/namespaces/default/workflows/referral-${smuggling.referralId}`,
    );

    // The board: counts by stage × case type (other test files may have added referrals of their own).
    const count = async (stage: string, caseType: string) => Number((await page.locator(`#board-matrix td[data-stage="${stage}"][data-case-type="${caseType}"]`).textContent())?.trim() || 0);
    expect(await count('IN_PROGRESS', 'TRAFFICKING')).toBeGreaterThanOrEqual(1);
    expect(await count('SCREENING', 'SMUGGLING')).toBeGreaterThanOrEqual(1);
    expect(await count('SCREENING', 'FRAUDULENT_JOB_AD')).toBeGreaterThanOrEqual(1);
    // SLA heat and load: the screening referrals' acknowledgement is due within 24 h; FIA and NCCIA lead.
    expect(Number(await page.locator('#stats .stat-due .stat-value').textContent())).toBeGreaterThanOrEqual(2);
    await page.locator(`#heat-list li[data-referral-id="${fja.referralId}"]`).waitFor();
    expect(Number(await page.locator('#load-table tr[data-agency="FIA"] td').first().textContent())).toBeGreaterThanOrEqual(2);
    expect(Number(await page.locator('#load-table tr[data-agency="NCCIA"] td').first().textContent())).toBeGreaterThanOrEqual(1);
    // The breached referral heads the heat list with the escalation rung it reached.
    const hot = page.locator(`#heat-list li.breached[data-referral-id="${overdue.referralId}"]`);
    await hot.waitFor();
    expect(await hot.locator('.rung').textContent()).toMatch(/^rung: (district|provincial|national)-committee$/);
    expect(Number(await page.locator('#stats .stat-breached .stat-value').textContent())).toBeGreaterThanOrEqual(1);
    expect(await row(overdue.referralId).locator('.badge-breached').count()).toBe(1);
    // Clicking a board cell filters the list.
    await page.locator('#board-matrix td[data-stage="SCREENING"][data-case-type="SMUGGLING"] button').click();
    await expect.poll(() => page.locator('#referrals-table tbody tr').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-case-type')))).toEqual(
      expect.arrayContaining(['SMUGGLING']),
    );
    expect(await row(fja.referralId).count()).toBe(0);
    await page.locator('#filter-note button').click();
    await row(fja.referralId).waitFor();

    await page.screenshot({ path: `${screenshots}/console-board.png`, fullPage: true });

    // One referral: the parent's timeline and both tracks' merged by time, SLA clocks, Temporal link.
    await row(trafficking.referralId).locator('button.open-referral').click();
    await page.locator('#timeline li[data-action="ROUTED"]').waitFor();
    await page.locator('#timeline li.on-justice').first().waitFor();
    await page.locator('#timeline li.on-protection').first().waitFor();
    expect(await page.locator('#detail-title').textContent()).toBe(trafficking.referralId);
    const actions = await page.locator('#timeline li').evaluateAll((items) => items.map((li) => li.getAttribute('data-action')));
    expect(actions.slice(0, 3)).toEqual(['DETECTED', 'ROUTED', 'ACKNOWLEDGED']);
    expect(actions).toEqual(expect.arrayContaining(['PROTECTION_TRACK_OPENED']));
    const times = await page.locator('#timeline li .entry-when').evaluateAll((els) => els.map((e) => e.getAttribute('title') ?? ''));
    expect([...times].sort()).toEqual(times);
    expect(await page.locator('#temporal-link').getAttribute('href')).toBe(`${temporalUiUrl}/namespaces/default/workflows/referral-${trafficking.referralId}`);
    expect(await page.locator('#sla-table tr[data-step="acknowledge"] .status').textContent()).toBe('Met');
    expect(await page.locator('#sla-table tr[data-step="reintegrationPlan"]').count()).toBe(1);
    // Text from the API is text: the reason's markup is shown, not parsed.
    expect(await page.locator('#xss').count()).toBe(0);
    expect(await page.locator('#timeline li[data-action="ACKNOWLEDGED"] .entry-reason').textContent()).toBe(markup);
    // An operator does not read persons; nothing personal anywhere on the page.
    expect(await page.locator('#persons').count()).toBe(0);
    expect(await page.locator('body').textContent()).not.toContain(trafficking.persons[0]!.name);
    await page.screenshot({ path: `${screenshots}/console.png`, fullPage: true });

    // It refreshes itself: a new referral appears without a reload, and "updated" moves on.
    const updated = await page.locator('#updated').textContent();
    expect(updated).toMatch(/^updated \d\d:\d\d:\d\d$/);
    const late = await submit(detected());
    await listed([late.referralId]);
    await row(late.referralId).waitFor({ timeout: 25_000 });
    expect(await page.locator('#updated').textContent()).not.toBe(updated);
    expect(await page.locator('#detail-title').textContent()).toBe(trafficking.referralId);

    // The lead agency's officer may read persons: the detail shows them because the API returned them.
    await page.locator('#signout').click();
    await signIn(page, '/console', 'fia-officer');
    await row(trafficking.referralId).locator('button.open-referral').click();
    await page.locator('#persons').waitFor();
    expect(await page.locator('#persons').textContent()).toContain(trafficking.persons[0]!.name);
    expect(pageErrors).toEqual([]);
  });

  it('lets a partner see its open tasks with deadlines and complete one; the protection timeline shows it', async () => {
    const referral = await submit(detected());
    const id = referral.referralId;
    await screen(id);
    // The protection track starts once screening is done; SWD agrees the plan on it.
    const plan = await eventually(
      () =>
        act('swd-officer', id, 'reintegration-plan', {
          partner: 'IOM',
          tasks: [
            { taskId: 'T1', kind: 'SHELTER', partner: 'IOM' },
            { taskId: 'T2', kind: 'MEDICAL', partner: 'IOM' },
            { taskId: 'T3', kind: 'LIVELIHOOD', partner: 'IOM' },
          ],
        }),
      (res) => res.statusCode !== 404,
      30_000,
      'protection track started',
    );
    expect(plan.statusCode, plan.body).toBe(200);
    type Task = { referralId: string; taskId: string; status: string; dueBy: string };
    const tasks = await eventually(
      async () => ((await app.inject({ method: 'GET', url: '/partner/tasks', headers: auth('iom') })).json().tasks ?? []) as Task[],
      (list) => list.filter((t) => t.referralId === id).length === 3,
      30_000,
      'IOM tasks listed',
    );
    const t1 = tasks.find((t) => t.referralId === id && t.taskId === 'T1')!;

    const page = await newPage();
    await signIn(page, '/partner', 'iom');
    const openRow = (taskId: string) => page.locator(`#open-table tr[data-referral-id="${id}"][data-task-id="${taskId}"]`);
    await openRow('T1').waitFor();
    await openRow('T2').waitFor();
    const cells = await openRow('T1').locator('td').allTextContents();
    expect(cells.slice(0, 3)).toEqual([id, 'T1', 'Shelter']);
    expect(cells[3]).toContain(t1.dueBy.slice(0, 10));
    expect(cells[3]).toMatch(/in \d/);
    expect(cells[4]).toBe('Open');

    // A failure shows the API's own message: a colleague completed T2 while the form was open.
    await openRow('T2').locator('button[data-complete]').click();
    await page.locator('#task-form[data-task-id="T2"]').waitFor();
    const colleague = await act('iom', id, 'complete-task', { taskId: 'T2', outcome: 'NOT_POSSIBLE', notes: 'clinic closed' });
    expect(colleague.statusCode, colleague.body).toBe(200);
    await page.locator('#submit-task').click();
    await page.locator('#form-error').waitFor({ state: 'visible' });
    expect(await page.locator('#form-error').textContent()).toBe(`Not recorded: 409 INVALID_TRANSITION: taskId: task T2 is already completed (NOT_POSSIBLE)`);
    await page.screenshot({ path: `${screenshots}/partner-error.png`, fullPage: true });
    await page.locator('#task-form button', { hasText: 'Cancel' }).click();

    // Complete T1 with notes: the list refreshes and shows it done.
    const notes = 'Placed in the Lahore partner shelter; intake interview done.';
    await openRow('T1').locator('button[data-complete]').click();
    await page.locator('#outcome').selectOption('DONE');
    await page.locator('#notes').fill(notes);
    await page.locator('#submit-task').click();
    await page.locator('#notice').waitFor({ state: 'visible' });
    expect(await page.locator('#notice').textContent()).toBe(`Task T1 of referral ${id} recorded as done.`);
    await page.locator(`#done-table tr[data-referral-id="${id}"][data-task-id="T1"][data-status="DONE"]`).waitFor();
    await page.locator(`#done-table tr[data-referral-id="${id}"][data-task-id="T2"][data-status="NOT_POSSIBLE"]`).waitFor();
    expect(await openRow('T1').count()).toBe(0);
    await openRow('T3').waitFor();
    await page.screenshot({ path: `${screenshots}/partner.png`, fullPage: true });

    // SWD sees the completion, with the partner's notes, on the protection track's timeline.
    const detail = (await app.inject({ method: 'GET', url: `/referrals/${id}`, headers: auth('swd-officer') })).json();
    expect(detail.protection.tasks.find((t: { taskId: string }) => t.taskId === 'T1')).toMatchObject({ status: 'DONE', completedAt: expect.any(String) });
    expect(detail.protection.timeline).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ action: 'PARTNER_TASK_COMPLETED', actor: 'iom', agency: 'IOM', track: 'protection', details: { taskId: 'T1', kind: 'SHELTER', outcome: 'DONE', notes } }),
      ]),
    );
    expect(pageErrors).toEqual([]);
  });
});
