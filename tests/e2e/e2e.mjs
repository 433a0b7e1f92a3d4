// End-to-end test of patchtrack's web UI in a real headless Chromium.
//
//   node tests/e2e/e2e.mjs http://127.0.0.1:PORT
//
// run.sh loads the database this expects (project `e2e`, the series test
// mailboxes, the seed QEMU patch, hostile.mbox, users `maint` and `visitor`)
// and starts the server. Prints `ok - STEP` per passed step; on the first
// failure prints `not ok - STEP: REASON` with the page's URL, title and a
// screenshot path, and exits 1. Screenshots go to $E2E_ARTIFACTS
// (default target/e2e-artifacts).
//
// Every page is watched for hostile content running: a `dialog` or
// `pageerror` event, any assignment to `window.__pwned` (trapped by an init
// script, so it is caught even on pages passed through by a redirect), and
// injected handlers (`on*` attributes, `javascript:` URLs, `<script>`
// elements carrying a payload of hostile.mbox).

import fs from 'node:fs';
import path from 'node:path';
import { chromium } from 'playwright-core';

const BASE = (process.argv[2] || '').replace(/\/+$/, '');
if (!/^https?:\/\//.test(BASE)) {
    console.error('usage: node e2e.mjs BASE_URL   (e.g. http://127.0.0.1:8000)');
    process.exit(2);
}
const ARTIFACTS = path.resolve(process.env.E2E_ARTIFACTS || 'target/e2e-artifacts');
const CHROMIUM = process.env.E2E_CHROMIUM || '/usr/bin/chromium';
const TIMEOUT = Number(process.env.E2E_TIMEOUT_MS || 10_000);

// What run.sh loads.
const PROJECT = 'e2e';
const LIST = `/project/${PROJECT}/list/`;
const MAINT = { username: 'maint', password: 'maintpass' };
const VISITOR = { username: 'visitor', password: 'visitorpass' };
const ADMIN = { username: 'admin', password: 'adminpass' };
// hostile.mbox: a patch and a reply to it.
const HOSTILE = {
    msgid: 'e2e-hostile-patch-1@evil.example.org',
    search: 'pwned', // a word of its subject found in no other patch
    subject: ['<script>window.__pwned=1</script>', '<img src=x onerror="window.__pwned=2">'],
    header: '<script>window.__pwned=3</script>', // X-Evil
    commit: [
        '<script>window.__pwned=4</script>',
        '"><svg onload=window.__pwned=5>',
        '&amp; &lt;b&gt;not bold&lt;/b&gt;', // entities shown as written
    ],
    diffAdd: '"><svg onload=window.__pwned=5>',
    diffDel: '<script>window.__pwned=4</script>',
    comment: '<script>window.__pwned=10</script>',
};
// testdata/seed/seed-qemu-patch.mbox: the patch whose state is changed.
const TARGET = { search: 'mapped-ram', name: 'tests/qtest/migration: Add mapped-ram/postcopy validation test' };
// In the names of 7 of the 39 patches ("test: Convert to Markdown", "test: Remove Markdown formatting").
const FILTER_WORD = 'Markdown';
// In the names of the 4 patches of a series ("net: dsa: ..."); the bundle takes two of them.
const BUNDLE_SEARCH = 'dsa';
const BUNDLE = 'e2e-bundle';

// ---------------------------------------------------------------- plumbing

let browser;
let context;
let page; // the page a failure report describes
let passed = 0;
const violations = []; // dialogs, page errors, __pwned assignments, from any page
const lastNavigation = new WeakMap(); // page -> "METHOD URL -> STATUS" of its last main-frame document

function fail(message) {
    throw new Error(message);
}

function slug(text) {
    return text.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '').slice(0, 60);
}

function abs(urlOrPath, from = BASE + '/') {
    return new URL(urlOrPath, from).href;
}

function short(text, n = 160) {
    const t = String(text).replace(/\s+/g, ' ').trim();
    return t.length > n ? t.slice(0, n) + '…' : t;
}

function watch(p) {
    p.on('dialog', async (d) => {
        violations.push(`a dialog (${d.type()}: "${short(d.message(), 80)}") opened on ${p.url()}`);
        await d.dismiss().catch(() => {});
    });
    p.on('pageerror', (e) => violations.push(`a script error on ${p.url()}: ${short(e.message)}`));
    p.on('response', (r) => {
        const req = r.request();
        if (req.isNavigationRequest() && r.frame() === p.mainFrame()) {
            lastNavigation.set(p, `${req.method()} ${r.url()} -> ${r.status()}`);
        }
    });
}

// Throws on anything hostile that ran or got into the DOM as markup.
async function assertSafe(p = page) {
    if (violations.length) fail(violations.join('; '));
    const pwned = await p.evaluate(() => window.__pwned);
    if (pwned !== undefined) fail(`window.__pwned is ${JSON.stringify(pwned)} on ${p.url()}: hostile content ran`);
    const injected = await p.evaluate(() => {
        const found = [];
        const payload = /__pwned|alert\(/;
        for (const el of document.querySelectorAll('*')) {
            for (const a of el.attributes) {
                const n = a.name.toLowerCase();
                if (n.startsWith('on') && payload.test(a.value)) found.push(`<${el.localName} ${n}="${a.value}">`);
                if (/^(href|src|action|formaction|data|xlink:href)$/.test(n) && /^\s*javascript:/i.test(a.value) && payload.test(a.value)) {
                    found.push(`<${el.localName} ${n}="${a.value}">`);
                }
            }
            if (el.localName === 'script' && payload.test(el.textContent)) found.push(`<script>${el.textContent.slice(0, 60)}</script>`);
        }
        return found;
    });
    if (injected.length) fail(`hostile markup was injected into ${p.url()}: ${short(injected.slice(0, 3).join(' '), 300)}`);
}

// GET a page as a person would; fails on an HTTP error.
async function open(urlOrPath, p = page) {
    const url = abs(urlOrPath);
    const resp = await p.goto(url, { waitUntil: 'load', timeout: TIMEOUT });
    if (!resp) fail(`no response for ${url}`);
    if (resp.status() >= 400) fail(`GET ${url} answered ${resp.status()}`);
    await assertSafe(p);
    return resp;
}

// Clicks a submit button (or link) and waits until a new document has loaded.
async function submit(selector, p = page) {
    const target = await reveal(selector, p);
    await p.evaluate(() => { window.__e2eOldDocument = true; });
    await target.click({ timeout: TIMEOUT });
    try {
        await p.waitForFunction(() => !window.__e2eOldDocument && document.readyState === 'complete', null, { timeout: TIMEOUT });
    } catch {
        fail(`clicking ${selector} did not load a new page within ${TIMEOUT / 1000} s`);
    }
    await assertSafe(p);
}

// Waits for an element; a clear error names the selector and the page.
async function need(selector, p = page, what = '') {
    const loc = p.locator(selector);
    try {
        await loc.first().waitFor({ state: 'attached', timeout: TIMEOUT });
    } catch {
        fail(`${what ? what + ': ' : ''}no element matches \`${selector}\` on ${p.url()}`);
    }
    return loc;
}

// The first match, made visible as a person would: by opening the closed
// <details> it sits in (the list's filters, say). Fails if it stays hidden.
async function reveal(selector, p = page) {
    const loc = (await need(selector, p)).first();
    for (let i = 0; i < 5 && !(await loc.isVisible()); i++) {
        const closed = loc.locator('xpath=ancestor::details[not(@open)][last()]');
        if (!(await closed.count())) break;
        await closed.locator('xpath=./summary').first().click();
    }
    if (!(await loc.isVisible())) fail(`\`${selector}\` is on ${p.url()} but hidden`);
    return loc;
}

// A selector for the controls of form#ID, inside it or tied to it by form="ID".
function inForm(id, control) {
    return `form#${id} ${control}, ${control}[form="${id}"]`;
}

async function fill(selector, value, p = page) {
    await (await reveal(selector, p)).fill(value);
}

async function choose(selector, option, p = page) {
    await (await reveal(selector, p)).selectOption(option);
}

async function text(selector, p = page) {
    const loc = await need(selector, p);
    return (await loc.first().textContent()) ?? '';
}

async function absent(selector, p = page, why = '') {
    const n = await p.locator(selector).count();
    if (n) fail(`\`${selector}\` should not be on ${p.url()}${why ? ' (' + why + ')' : ''}, found ${n}`);
}

async function messages(p = page) {
    const loc = p.locator('#messages li');
    return (await loc.allTextContents()).map((t) => t.trim());
}

async function expectMessage(re, p = page) {
    const loc = p.locator('#messages li', { hasText: re });
    try {
        await loc.first().waitFor({ state: 'attached', timeout: TIMEOUT });
    } catch {
        fail(`expected a message matching ${re} in #messages on ${p.url()}, got ${JSON.stringify(await messages(p))}`);
    }
}

async function screenshot(name, p = page) {
    const file = path.join(ARTIFACTS, `${name}.png`);
    await p.screenshot({ path: file, fullPage: true, timeout: TIMEOUT });
    return file;
}

// The rows of the patch list (or bundle) on the current page.
async function rows(p = page) {
    try {
        await p.locator('table#patch-list, p#no-patches').first().waitFor({ state: 'attached', timeout: TIMEOUT });
    } catch {
        fail(`${p.url()} shows neither table#patch-list nor p#no-patches`);
    }
    return p.$$eval('table#patch-list tr[data-patch-id]', (trs) =>
        trs.map((tr) => {
            const cell = (sel) => tr.querySelector(sel)?.textContent.replace(/\s+/g, ' ').trim() ?? null;
            const link = tr.querySelector('td.patch-name a');
            return {
                id: tr.dataset.patchId,
                name: cell('td.patch-name'),
                href: link ? link.href : null,
                state: cell('td.patch-state'),
                submitter: cell('td.patch-submitter'),
                delegate: cell('td.patch-delegate'),
            };
        }),
    );
}

// The rows of the current list page and of every later page (a[rel=next]).
async function allRows(p = page) {
    const seen = new Map();
    for (let n = 0; ; n++) {
        for (const r of await rows(p)) seen.set(r.id, r);
        const next = p.locator('nav.pagination a[rel=next]');
        if (!(await next.count())) break;
        if (n >= 50) fail(`more than 50 pages of patches from ${p.url()}`);
        await open(await next.first().getAttribute('href'), p);
    }
    return [...seen.values()];
}

async function listAll(query, p = page) {
    await open(LIST + query, p);
    return allRows(p);
}

async function login(user, p = page) {
    await open('/user/login/', p);
    await need('form#login-form', p, 'the login form');
    await fill('form#login-form input[name=username]', user.username, p);
    await fill('form#login-form input[name=password]', user.password, p);
    await submit('form#login-form button[type=submit]', p);
}

async function logout(p = page) {
    await submit('#logout-form [type=submit]', p);
    await need('a#nav-login', p, 'after logging out, the login link');
    await absent('#nav-user', p, 'logged out');
}

async function csrfToken(p = page) {
    const token = await p.evaluate(
        () => document.querySelector('input[name=csrfmiddlewaretoken]')?.value || document.querySelector('meta[name=csrf-token]')?.content || null,
    );
    if (!token) fail(`no CSRF token (input[name=csrfmiddlewaretoken] or meta[name=csrf-token]) on ${p.url()}`);
    return token;
}

// A form POST outside the page, with the page's cookies and the headers a
// browser sends, not following redirects: its status says what the server did.
async function post(url, fields, p = page) {
    const resp = await p.request.post(url, {
        form: fields,
        headers: { Origin: new URL(BASE).origin, Referer: url },
        maxRedirects: 0,
        failOnStatusCode: false,
        timeout: TIMEOUT,
    });
    return resp.status();
}

async function patchState(p = page) {
    return (await text('td#patch-state', p)).trim();
}

function sameSet(a, b) {
    return a.length === b.length && [...a].sort().join() === [...b].sort().join();
}

async function describe(p) {
    const lines = [];
    try {
        lines.push(`url: ${p.url()}`);
        lines.push(`title: ${JSON.stringify(await p.title())}`);
        if (lastNavigation.has(p)) lines.push(`last document: ${lastNavigation.get(p)}`);
        const body = await p.evaluate(() => document.body?.innerText ?? '');
        lines.push(`page text: ${JSON.stringify(short(body, 300))}`);
    } catch (e) {
        lines.push(`(page not readable: ${short(e.message, 100)})`);
    }
    return lines;
}

async function step(description, fn) {
    try {
        await fn();
        await assertSafe(page);
        passed++;
        console.log(`ok - ${description}`);
    } catch (e) {
        const reason = short((e && e.message ? e.message : String(e)).split('\n')[0], 400);
        console.log(`not ok - ${description}: ${reason}`);
        if (page) {
            for (const line of await describe(page)) console.log(`#   ${line}`);
            try {
                console.log(`#   screenshot: ${await screenshot(`FAILED-${slug(description)}`)}`);
            } catch {
                // the page may be gone
            }
        }
        console.log(`e2e: ${passed} passed, 1 failed`);
        await browser?.close().catch(() => {});
        process.exit(1);
    }
}

// ------------------------------------------------------------------- steps

fs.mkdirSync(ARTIFACTS, { recursive: true });
for (const f of fs.readdirSync(ARTIFACTS)) {
    if (/^(FAILED-.*|\d\d-.*)\.png$/.test(f)) fs.rmSync(path.join(ARTIFACTS, f)); // a previous run's screenshots
}
const state = {}; // what a step found for later ones

await step(`setup: headless Chromium starts (${CHROMIUM})`, async () => {
    browser = await chromium.launch({
        executablePath: CHROMIUM,
        headless: true,
        timeout: 30_000,
        args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
    });
    context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    context.setDefaultTimeout(TIMEOUT);
    context.setDefaultNavigationTimeout(TIMEOUT);
    await context.exposeFunction('__e2eReportPwned', (value, url) => {
        violations.push(`hostile content set window.__pwned = ${JSON.stringify(value)} on ${url}`);
    });
    await context.addInitScript(() => {
        let value;
        Object.defineProperty(window, '__pwned', {
            configurable: false,
            get: () => value,
            set: (v) => {
                value = v;
                window.__e2eReportPwned(String(v), location.href);
            },
        });
    });
    context.on('page', watch);
    page = await context.newPage();
});

await step('setup: the hostile patch and its reply were stored (API)', async () => {
    const get = async (url) => {
        const r = await fetch(abs(url));
        if (!r.ok) fail(`GET ${url} answered ${r.status}`);
        return r.json();
    };
    const found = await get(`/api/patches/?project=${PROJECT}&q=${HOSTILE.search}`);
    const hostile = found.filter((pt) => pt.msgid === `<${HOSTILE.msgid}>`);
    if (hostile.length !== 1) fail(`the API finds ${found.length} patches for q=${HOSTILE.search}, none with msgid <${HOSTILE.msgid}>: did hostile.mbox parse?`);
    const comments = await get(`/api/patches/${hostile[0].id}/comments/`);
    if (!comments.some((c) => c.content.includes(HOSTILE.comment))) fail(`the hostile patch ${hostile[0].id} has ${comments.length} comments, none with the reply's payload`);
    state.hostileId = String(hostile[0].id);
});

await step('anonymous: / leads to the e2e patch list, which shows patches', async () => {
    await open('/');
    if (!new URL(page.url()).pathname.startsWith(LIST)) {
        await screenshot('01-project-list');
        await need(`a.project-link[href$="/project/${PROJECT}/list/"]`, page, 'the project card of e2e');
        await submit(`a.project-link[href$="/project/${PROJECT}/list/"]`);
        if (!new URL(page.url()).pathname.startsWith(LIST)) fail(`the project link led to ${page.url()}, not ${LIST}`);
    } else {
        await screenshot('01-project-list-redirected');
    }
    await need('nav#nav');
    await need('a#nav-login', page, 'anonymous, the login link');
    await absent('#nav-user', page, 'anonymous');
    const r = await rows();
    if (!r.length) fail('the patch list is empty');
    await absent('input[name=patch_id]', page, 'anonymous users get no bulk-edit checkboxes');
    await screenshot('02-patch-list');
});

await step('anonymous: hostile subject, names, headers, commit message, diff and comment are shown as text, nothing runs', async () => {
    await open(`${LIST}?q=${HOSTILE.search}`);
    const r = await rows();
    if (r.length !== 1) fail(`q=${HOSTILE.search} lists ${r.length} patches (${r.map((x) => x.id).join(', ')}), expected the hostile one`);
    if (r[0].id !== state.hostileId) fail(`q=${HOSTILE.search} lists patch ${r[0].id}, the hostile one is ${state.hostileId}`);
    for (const bit of HOSTILE.subject) if (!r[0].name.includes(bit)) fail(`td.patch-name should show ${bit} literally; it shows ${JSON.stringify(r[0].name)}`);
    if (!/eve/i.test(r[0].submitter ?? '')) fail(`td.patch-submitter should name Eve; it shows ${JSON.stringify(r[0].submitter)}`);
    await page.hover(`tr[data-patch-id="${r[0].id}"] td.patch-submitter`);
    await page.hover(`tr[data-patch-id="${r[0].id}"] td.patch-name a`);
    await submit(`tr[data-patch-id="${r[0].id}"] td.patch-name a`);
    if (!decodeURIComponent(page.url()).includes(`/project/${PROJECT}/patch/${HOSTILE.msgid}/`)) fail(`the patch link led to ${page.url()}`);
    state.hostileUrl = page.url();

    const h1 = await text('h1#patch-name');
    for (const bit of HOSTILE.subject) if (!h1.includes(bit)) fail(`h1#patch-name should show ${bit} literally; it shows ${JSON.stringify(short(h1))}`);
    const commit = await text('pre#commit-message');
    for (const bit of HOSTILE.commit) if (!commit.includes(bit)) fail(`pre#commit-message should show ${bit} literally`);
    const added = await page.locator('pre.diff span.diff-add').allTextContents();
    if (!added.some((t) => t.includes(HOSTILE.diffAdd))) fail(`no span.diff-add shows ${HOSTILE.diffAdd} literally (${added.length} added lines)`);
    const deleted = await page.locator('pre.diff span.diff-del').allTextContents();
    if (!deleted.some((t) => t.includes(HOSTILE.diffDel))) fail(`no span.diff-del shows ${HOSTILE.diffDel} literally (${deleted.length} deleted lines)`);
    await need('pre.diff span.diff-hunk');
    await need('pre.diff span.diff-file');
    await need('details#headers');
    if (!(await page.$eval('details#headers', (d) => d.open))) {
        if (await page.locator('details#headers > summary').count()) await page.click('details#headers > summary');
        else await page.$eval('details#headers', (d) => { d.open = true; });
    }
    const headers = await text('details#headers');
    if (!headers.includes(HOSTILE.header)) fail(`details#headers should show X-Evil: ${HOSTILE.header} literally`);
    const comments = await page.locator('section#comments article.comment').allTextContents();
    if (!comments.some((t) => t.includes(HOSTILE.comment))) fail(`no section#comments article.comment shows ${HOSTILE.comment} literally (${comments.length} comments)`);
    await page.hover('h1#patch-name');
    await page.locator('section#comments article.comment').first().hover();
    await page.waitForTimeout(300); // let late onerror/onload handlers fire, if any got in
    await assertSafe();
    await screenshot('03-hostile-patch');
});

await step('anonymous: a cover letter page opens', async () => {
    const r = await fetch(abs(`/api/covers/?project=${PROJECT}`));
    if (!r.ok) fail(`GET /api/covers/ answered ${r.status}`);
    const covers = await r.json();
    if (!covers.length) fail('the API lists no cover letters for the project');
    const cover = covers.find((c) => c.name.includes('A sample series')) ?? covers[0];
    await open(new URL(cover.web_url).pathname);
    await need('nav#nav');
    const body = await page.evaluate(() => document.body.innerText);
    const title = cover.name.replace(/^\[[^\]]*\]\s*/, '');
    if (!body.includes(title)) fail(`the cover page does not show its name ${JSON.stringify(title)}`);
    await screenshot('04-cover');
});

await step('visitor: logs in, sees no patch-update form, and a forged update POST is refused with 403', async () => {
    await login(VISITOR);
    if (new URL(page.url()).pathname !== '/user/') fail(`logging in as visitor led to ${page.url()}, not /user/`);
    const who = (await text('#nav-user')).trim();
    if (who !== VISITOR.username) fail(`#nav-user shows ${JSON.stringify(who)}`);
    await open(`${LIST}?q=${TARGET.search}`);
    const r = await rows();
    const target = r.find((x) => x.name?.includes(TARGET.name));
    if (!target) fail(`q=${TARGET.search} does not list "${TARGET.name}" (rows: ${JSON.stringify(r.map((x) => x.name))})`);
    state.targetId = target.id;
    await submit(`tr[data-patch-id="${target.id}"] td.patch-name a`);
    state.targetUrl = page.url();
    const before = await patchState();
    await absent('form#patch-update', page, 'visitor maintains nothing');
    await screenshot('05-patch-as-visitor');
    const token = await csrfToken();
    const status = await post(state.targetUrl, { csrfmiddlewaretoken: token, action: 'update', state: '3' });
    if (status !== 403) fail(`a POST by visitor (with a valid CSRF token) to ${state.targetUrl} answered ${status}, expected 403`);
    await open(state.targetUrl);
    const after = await patchState();
    if (after !== before) fail(`the refused POST still changed the state from ${before} to ${after}`);
    await logout();
});

await step('maint: a wrong password is refused with a message, the right one lands on /user/', async () => {
    await login({ username: MAINT.username, password: 'not-the-password' });
    if (new URL(page.url()).pathname !== '/user/login/') fail(`a wrong password led to ${page.url()}`);
    await expectMessage(/incorrect/i);
    await absent('#nav-user', page, 'the login failed');
    await login(MAINT);
    if (new URL(page.url()).pathname !== '/user/') fail(`logging in as maint led to ${page.url()}, not /user/`);
    const who = (await text('#nav-user')).trim();
    if (who !== MAINT.username) fail(`#nav-user shows ${JSON.stringify(who)}`);
});

await step(`maint: filtering the list by q=${FILTER_WORD}, then by any state`, async () => {
    const everything = await listAll('');
    await open(LIST);
    await need('form#filters', page, 'the filter form');
    await fill('form#filters input[name=q]', FILTER_WORD);
    await submit('#apply-filters');
    const q = new URL(page.url()).searchParams.get('q');
    if (q !== FILTER_WORD) fail(`after applying the filter the URL is ${page.url()} (q=${q})`);
    const filtered = await allRows();
    if (!filtered.length) fail(`q=${FILTER_WORD} lists no patch`);
    const stray = filtered.filter((x) => !x.name?.toLowerCase().includes(FILTER_WORD.toLowerCase()));
    if (stray.length) fail(`q=${FILTER_WORD} lists patches without the word: ${JSON.stringify(stray.map((x) => x.name))}`);
    if (filtered.length >= everything.length) fail(`q=${FILTER_WORD} lists ${filtered.length} patches, the unfiltered list ${everything.length}`);
    await screenshot('06-filtered-list');

    await open(`${LIST}?q=${encodeURIComponent(FILTER_WORD)}`);
    await fill('form#filters input[name=q]', FILTER_WORD);
    await choose('form#filters select[name=state]', '*');
    await submit('#apply-filters');
    if (new URL(page.url()).searchParams.get('state') !== '*') fail(`after choosing any state the URL is ${page.url()}`);
    const any = await allRows();
    const stray2 = any.filter((x) => !x.name?.toLowerCase().includes(FILTER_WORD.toLowerCase()));
    if (stray2.length) fail(`q=${FILTER_WORD}&state=* lists patches without the word: ${JSON.stringify(stray2.map((x) => x.name))}`);
    if (any.length < filtered.length) fail(`state=* lists ${any.length} patches, fewer than the ${filtered.length} of the default filter`);
});

await step('maint: accepting a patch with form#patch-update takes it off the action-required list', async () => {
    await open(state.targetUrl);
    await need('form#patch-update', page, 'maint maintains e2e: the patch-update form');
    await choose('form#patch-update select[name=state]', { label: 'Accepted' });
    await submit('form#patch-update button[type=submit]');
    await expectMessage(/Patch updated/);
    const now = await patchState();
    if (now !== 'Accepted') fail(`td#patch-state shows ${JSON.stringify(now)} after the update, expected Accepted`);
    await screenshot('07-patch-accepted');

    const actionRequired = await listAll('');
    if (actionRequired.some((x) => x.id === state.targetId)) fail(`the default list still shows the accepted patch ${state.targetId}`);
    const any = await listAll('?state=*');
    const row = any.find((x) => x.id === state.targetId);
    if (!row) fail(`state=* does not list the accepted patch ${state.targetId}`);
    if (row.state !== 'Accepted') fail(`state=* shows the accepted patch as ${JSON.stringify(row.state)}`);
});

await step(`maint: a bundle of two patches is created from the list, shown and downloaded`, async () => {
    await open(`${LIST}?q=${BUNDLE_SEARCH}`);
    const r = await rows();
    if (r.length < 2) fail(`q=${BUNDLE_SEARCH} lists ${r.length} patches, need two`);
    const chosen = r.slice(0, 2).map((x) => x.id);
    for (const id of chosen) await (await reveal(inForm('bulk', `input[type=checkbox][name=patch_id][value="${id}"]`))).check();
    await fill(inForm('bulk', 'input[name=bundle_name]'), BUNDLE);
    await submit(inForm('bulk', 'button[name=action][value=create-bundle]'));
    await expectMessage(new RegExp(`Bundle ${BUNDLE} created`));

    await open(`/bundle/${MAINT.username}/${BUNDLE}/?state=*`);
    const name = await text('h1#bundle-name');
    if (!name.includes(BUNDLE)) fail(`h1#bundle-name shows ${JSON.stringify(name)}`);
    const members = (await allRows()).map((x) => x.id);
    if (!sameSet(members, chosen)) fail(`the bundle lists patches ${members.join(', ')}, expected ${chosen.join(', ')}`);
    await open(`/bundle/${MAINT.username}/${BUNDLE}/?state=*`);
    await screenshot('08-bundle');

    const href = await (await need('a#bundle-mbox')).first().getAttribute('href');
    const url = abs(href, page.url());
    if (new URL(url).pathname !== `/bundle/${MAINT.username}/${BUNDLE}/mbox/`) fail(`a#bundle-mbox links to ${href}`);
    const resp = await page.request.get(url, { timeout: TIMEOUT, failOnStatusCode: false });
    if (resp.status() !== 200) fail(`GET ${url} answered ${resp.status()}`);
    const type = resp.headers()['content-type'] ?? '';
    if (!/^(text\/plain|application\/mbox)/.test(type)) fail(`GET ${url} is ${type}, not text/plain or application/mbox`);
    const body = await resp.text();
    if (!body.startsWith('From ')) fail(`the bundle mbox starts with ${JSON.stringify(body.slice(0, 40))}`);
    const subjects = body.match(/^Subject:/gm)?.length ?? 0;
    if (subjects < 2) fail(`the bundle mbox has ${subjects} Subject: lines, expected at least 2`);

    await open('/user/bundles/');
    const links = await page.locator('a.bundle-link').evaluateAll((as) => as.map((a) => new URL(a.href).pathname));
    if (!links.includes(`/bundle/${MAINT.username}/${BUNDLE}/`)) fail(`/user/bundles/ links to ${JSON.stringify(links)}, not to the new bundle`);
});

await step('maint: the series list changes every patch of a selected series at once', async () => {
    await open(LIST);
    await submit('a#nav-series');
    if (new URL(page.url()).pathname !== `/project/${PROJECT}/series/`) fail(`a#nav-series leads to ${page.url()}`);
    const listed = await page.locator('#series-list tbody tr').evaluateAll((trs) => trs.map((tr) => ({
        id: Number(tr.dataset.seriesId),
        received: tr.querySelector('td.series-received')?.textContent.trim(),
        states: tr.querySelector('td.series-states')?.textContent.trim(),
    })));
    const target = listed.find((r) => /^[2-9]\d*\//.test(r.received ?? ''));
    if (!target) fail(`no open series with two patches or more in ${JSON.stringify(listed.slice(0, 5))}`);
    if (!/New/.test(target.states)) fail(`series ${target.id}'s state summary is ${JSON.stringify(target.states)}`);
    await (await reveal(inForm('series-bulk', `input[type=checkbox][name=series_id][value="${target.id}"]`))).check();
    await choose(inForm('series-bulk', 'select[name=state]'), { label: 'Accepted' });
    await screenshot('09-series-list');
    await submit('button#series-update');
    await expectMessage(/^1 series updated/);
    const resp = await page.request.get(abs(`/api/1.5/series/${target.id}/`), { timeout: TIMEOUT });
    const series = await resp.json();
    const n = Number(target.received.split('/')[0]);
    if (series.open !== false || series.state.accepted !== n || Object.keys(series.state).length !== 1) {
        fail(`after the update series ${target.id} is open=${series.open}, state=${JSON.stringify(series.state)}; expected ${n} accepted`);
    }
    if (await page.locator(`#series-list tr[data-series-id="${target.id}"]`).count()) fail(`the open series list still shows series ${target.id}`);
    await open(`/project/${PROJECT}/series/?show=closed`);
    await need(`#series-list tr[data-series-id="${target.id}"]`, page, 'the closed series list');
});

await step('anonymous: a v2 series page links its interdiff, which pairs its patches with v1', async () => {
    const resp = await page.request.get(abs(`/api/1.5/series/?project=${PROJECT}&per_page=100`), { timeout: TIMEOUT });
    const all = await resp.json();
    const revised = all.find((s) => s.previous_versions.length > 0 && s.patches.length > 0);
    if (!revised) fail('no series of the e2e project has a previous version');
    const other = await browser.newPage();
    watch(other);
    await open(`${LIST}?series=${revised.id}&state=*`, other);
    const versions = await text('p#series-versions', other);
    if (!versions.includes(`v${revised.version}`)) fail(`p#series-versions shows ${JSON.stringify(versions)}`);
    await submit('a#series-interdiff', other);
    const title = await text('h1#interdiff-title', other);
    if (!/ against v\d+$/.test(title.trim())) fail(`h1#interdiff-title shows ${JSON.stringify(title)}`);
    const pairs = await other.locator('section.interdiff-pair').count();
    const added = await other.locator('#interdiff-added li').count();
    if (pairs + added < revised.patches.length) fail(`the interdiff shows ${pairs} pairs and ${added} added patches for ${revised.patches.length} patches`);
    if (pairs < 1) fail('the interdiff pairs no patch with the version before');
    await screenshot('10-interdiff', other);
    await other.close();
});

await step('maint: the patch page offers mbox, diff and git-pw downloads, and the mbox is an mbox', async () => {
    await open(state.targetUrl);
    const href = await (await need('a#download-mbox')).first().getAttribute('href');
    const url = abs(href, page.url());
    const expected = abs('mbox/', state.targetUrl);
    if (decodeURIComponent(url) !== decodeURIComponent(expected)) fail(`a#download-mbox links to ${href}, expected ${expected}`);
    const resp = await page.request.get(url, { timeout: TIMEOUT, failOnStatusCode: false });
    if (resp.status() !== 200) fail(`GET ${url} answered ${resp.status()}`);
    const body = await resp.text();
    if (!body.split('\n')[0].startsWith('From ')) fail(`the patch mbox starts with ${JSON.stringify(body.slice(0, 40))}`);
    if (!/^Subject:/m.test(body)) fail('the patch mbox has no Subject: line');
    const diffHref = await (await need('a#download-diff')).first().getAttribute('href');
    const diff = await page.request.get(abs(diffHref, page.url()), { timeout: TIMEOUT, failOnStatusCode: false });
    if (diff.status() !== 200) fail(`GET ${diffHref} (a#download-diff) answered ${diff.status()}`);
    if (!/^(diff --git |--- )/m.test(await diff.text())) fail(`${diffHref} (a#download-diff) holds no diff`);
    const gitpw = await text('code#git-pw-apply');
    if (!/git[- ]pw/.test(gitpw)) fail(`code#git-pw-apply shows ${JSON.stringify(gitpw)}`);
});

await step('maint: a patch update POST without the CSRF token is refused with 403', async () => {
    await open(state.targetUrl);
    const before = await patchState();
    const rejected = await page
        .locator('form#patch-update select[name=state] option', { hasText: /^\s*Rejected\s*$/ })
        .first()
        .getAttribute('value');
    const status = await post(state.targetUrl, { action: 'update', state: rejected ?? '4' });
    if (status !== 403) fail(`a POST without csrfmiddlewaretoken to ${state.targetUrl} answered ${status}, expected 403`);
    await open(state.targetUrl);
    const after = await patchState();
    if (after !== before) fail(`the refused POST still changed the state from ${before} to ${after}`);
});

await step('maint: the profile page generates an API token that the API accepts', async () => {
    await open('/user/');
    const h1 = await text('h1');
    if (!h1.includes(MAINT.username)) fail(`the profile's h1 shows ${JSON.stringify(h1)}`);
    await submit('form#token-form button[name=action][value=generate]');
    const token = (await text('code#api-token')).trim();
    if (!/^[0-9a-f]{40}$/.test(token)) fail(`code#api-token shows ${JSON.stringify(token)}, not 40 hex digits`);
    const r = await fetch(abs('/api/users/'), { headers: { Authorization: `Token ${token}` } });
    if (r.status !== 200) fail(`GET /api/users/ with the new token answered ${r.status}`);
    await screenshot('09-profile');
});

// ------------------------------------------------ accounts by mail (aiosmtpd)

// The mails aiosmtpd delivered into E2E_MAILDIR that no step has read yet.
const seenMails = new Set();
function newMails() {
    const found = [];
    for (const sub of ['new', 'cur']) {
        const dir = path.join(MAILDIR, sub);
        if (!fs.existsSync(dir)) continue;
        for (const f of fs.readdirSync(dir).sort()) {
            if (seenMails.has(f)) continue;
            seenMails.add(f);
            // Undo quoted-printable soft line breaks so links are whole.
            found.push(fs.readFileSync(path.join(dir, f), 'utf8').replace(/=\r?\n/g, ''));
        }
    }
    return found;
}

// Waits for the next mail to `to`; returns its link to this site, as a path.
async function mailedLink(to, subject) {
    const deadline = Date.now() + TIMEOUT;
    while (Date.now() < deadline) {
        for (const m of newMails()) {
            const head = m.split(/\r?\n\r?\n/)[0];
            if (!new RegExp(`^To: .*${to.replace(/[.]/g, '\\.')}`, 'mi').test(head)) continue;
            if (!head.includes(`Subject: ${subject}`)) fail(`the mail to ${to} is not "${subject}": ${short(head, 300)}`);
            const link = m.match(new RegExp(`${BASE.replace(/[.]/g, '\\.')}(/confirm/[0-9a-f]+/)`));
            if (!link) fail(`no /confirm/ link to ${BASE} in the mail to ${to}`);
            return link[1];
        }
        await new Promise((r) => setTimeout(r, 100));
    }
    fail(`no mail to ${to} ("${subject}") reached the SMTP server in ${TIMEOUT} ms`);
}

const MAILDIR = process.env.E2E_MAILDIR || '';
const NEWCOMER = { username: 'newcomer', password: 'newcomer-pass-1', email: 'newcomer@example.org' };
if (!MAILDIR) {
    console.log('# e2e: no E2E_MAILDIR (no SMTP server): registration steps SKIPPED');
} else {
    await step('newcomer: registers, is refused until confirmed, confirms through the mailed link', async () => {
        await logout();
        await open('/register/');
        await fill('form#register-form input[name=first_name]', 'New', page);
        await fill('form#register-form input[name=last_name]', 'Comer', page);
        await fill('form#register-form input[name=username]', NEWCOMER.username, page);
        await fill('form#register-form input[name=email]', NEWCOMER.email, page);
        await fill('form#register-form input[name=password]', NEWCOMER.password, page);
        await submit('form#register-form button[type=submit]');
        const link = await mailedLink(NEWCOMER.email, 'Patchwork account confirmation');
        await login(NEWCOMER);
        await absent('#nav-user', page, 'an unconfirmed account cannot log in');
        await open(link);
        const result = `${await text('h1')}: ${await text('#confirmation-result')}`;
        if (!/^Registration confirmed: .*log in/.test(result)) fail(`the confirmation page says ${JSON.stringify(result)}`);
        await screenshot('10-registration-confirmed');
    });

    await step('newcomer: logs in, and opts out from the profile through the mailed link', async () => {
        await login(NEWCOMER);
        await need('#nav-user', page, 'logged in after confirming');
        await open('/user/');
        await need(`#addresses form[action="/mail/optout/"] button`, page, 'the opt-out button of the address');
        await submit(`#addresses form[action="/mail/optout/"] button`);
        const link = await mailedLink(NEWCOMER.email, 'Patchwork opt-out request');
        await open(link);
        await open('/user/');
        await need(`#addresses form[action="/mail/optin/"] button`, page, 'after opting out, the opt-in button');
        await open('/mail/');
        await fill('form#mail-settings-form input[name=email]', NEWCOMER.email, page);
        await submit('form#mail-settings-form button[type=submit]');
        const status = await text('#mail-status');
        if (!status.includes('may not')) fail(`/mail/ says ${JSON.stringify(status)} after the opt-out`);
        await screenshot('11-opted-out');
    });
}

await step('admin: the administration pages edit a project field, and the project page shows it', async () => {
    await logout();
    await login(ADMIN);
    await submit('a#nav-admin');
    if (new URL(page.url()).pathname !== '/admin/') fail(`a#nav-admin led to ${page.url()}`);
    await submit('#admin-index a[href="/admin/projects/"]');
    await submit(`#admin-projects a[href="/admin/projects/${PROJECT}/"]`);
    const home = 'https://e2e.example.org/home';
    await fill('form#admin-project-form input[name=web_url]', home);
    await submit('button#admin-project-save');
    await expectMessage(/Project saved/);
    const saved = await (await need('form#admin-project-form input[name=web_url]')).first().inputValue();
    if (saved !== home) fail(`after saving, the form's web_url is ${JSON.stringify(saved)}`);
    await screenshot('12-admin-project');
    await open(`/project/${PROJECT}/`);
    const links = await page.locator(`a[href="${home}"]`).count();
    if (!links) fail(`the project page does not link to the new website ${home}`);
    await open('/admin/log/');
    const log = await text('table#admin-log');
    if (!log.includes('project.edit') || !log.includes(home)) fail(`the admin log does not show the edit: ${short(log, 200)}`);
});

await step('visitor: the administration pages answer 403 and the nav bar has no link to them', async () => {
    await logout();
    await login(VISITOR);
    await absent('a#nav-admin', page, 'not an administrator');
    const resp = await page.goto(abs('/admin/'), { waitUntil: 'load', timeout: TIMEOUT });
    if (resp?.status() !== 403) fail(`GET /admin/ as visitor answered ${resp?.status()}, expected 403`);
    const resp2 = await page.goto(abs(`/admin/projects/${PROJECT}/`), { waitUntil: 'load', timeout: TIMEOUT });
    if (resp2?.status() !== 403) fail(`GET /admin/projects/${PROJECT}/ as visitor answered ${resp2?.status()}, expected 403`);
    const status = await post(abs(`/admin/projects/${PROJECT}/`), { csrfmiddlewaretoken: await csrfToken(), action: 'save', name: 'Taken over', linkname: PROJECT, listid: 'e2e.example.org' });
    if (status !== 403) fail(`a visitor's POST to the admin answered ${status}, expected 403`);
    await open(`/project/${PROJECT}/`);
    if ((await text('h1')).includes('Taken over')) fail('the refused POST renamed the project');
});

await browser.close();
console.log(`e2e: ${passed} passed, 0 failed`);
