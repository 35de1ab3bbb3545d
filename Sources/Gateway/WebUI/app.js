// CareForAll web UI: plain JavaScript, no build step. Hash routes:
//   #/                      campaigns
//   #/campaigns/<id>        one campaign: live totals, history, the donation form
//   #/result                the outcome of the last donation
//   #/receipts/<pledge>[/<receipt token>]  a donation's receipt (guests: with their token)
//   #/donations             a signed-in donor's own donations
//   #/login, #/register     sign in or up
//   #/admin                 the services' health, events not delivered, campaigns, mail (admins)
"use strict";

const main = () => document.getElementById("main");
const SESSION_KEY = "careforall.session";
const RESULT_KEY = "careforall.lastResult";
let stopLive = () => {};

// ---- session ----

function session() {
  try {
    const saved = JSON.parse(localStorage.getItem(SESSION_KEY) || "null");
    if (saved && saved.expiresAt > Date.now()) return saved;
  } catch (_) { /* a damaged entry is no session */ }
  localStorage.removeItem(SESSION_KEY);
  return null;
}

function saveSession(answer) {
  localStorage.setItem(SESSION_KEY, JSON.stringify({
    token: answer.access_token, user: answer.user, expiresAt: Date.now() + (answer.expires_in - 30) * 1000,
  }));
}

function signOut() {
  const current = session();
  localStorage.removeItem(SESSION_KEY);
  location.hash = "#/";
  renderSessionLinks();
  // Ends the token at the server too (and every other copy of it), not only in this browser.
  if (current) {
    fetch("/api/users/logout", { method: "POST", headers: { Authorization: "Bearer " + current.token } }).catch(() => {});
  }
}

// ---- API ----

async function api(method, path, { body, headers = {}, auth = true } = {}) {
  const current = session();
  const sent = { ...headers };
  if (body !== undefined) sent["Content-Type"] = "application/json";
  if (auth && current) sent["Authorization"] = "Bearer " + current.token;
  let response;
  try {
    response = await fetch("/api" + path, { method, headers: sent, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch (_) {
    return { status: 0, data: { error: { code: "network", message: "The server could not be reached. Check your connection and try again." } } };
  }
  let data = null;
  try { data = await response.json(); } catch (_) { /* empty or not JSON */ }
  learnMinorUnits(data);
  // A token ended elsewhere (a logout, a password or role change) is no session any more.
  if (response.status === 401 && current && data && data.error && ["token_revoked", "invalid_token"].includes(data.error.code)) {
    localStorage.removeItem(SESSION_KEY);
    renderSessionLinks();
  }
  return { status: response.status, data };
}

function errorText(answer) {
  return (answer.data && answer.data.error && answer.data.error.message) || "Something went wrong (HTTP " + answer.status + ").";
}

// ---- money: integer minor units and an ISO currency, never floating point ----

// The server says how many minor-unit digits each currency has (`minor_units` on campaigns);
// the browser's own table is only the fallback for a currency no campaign has shown yet.
const minorUnits = {};

function learnMinorUnits(data) {
  const records = data && Array.isArray(data.items) ? data.items : [data];
  for (const record of records) {
    if (record && typeof record.currency === "string" && Number.isInteger(record.minor_units)) minorUnits[record.currency] = record.minor_units;
  }
}

function digits(currency) {
  if (currency in minorUnits) return minorUnits[currency];
  try { return new Intl.NumberFormat("en", { style: "currency", currency }).resolvedOptions().maximumFractionDigits; }
  catch (_) { return 2; }
}

function money(minor, currency) {
  const exponent = digits(currency);
  const negative = minor < 0;
  const text = String(Math.abs(minor)).padStart(exponent + 1, "0");
  const whole = text.slice(0, text.length - exponent) || "0";
  const fraction = exponent ? "." + text.slice(text.length - exponent) : "";
  const formatted = new Intl.NumberFormat(undefined, { style: "currency", currency, minimumFractionDigits: exponent, maximumFractionDigits: exponent })
    .format(Number(whole + fraction));
  return (negative ? "-" : "") + formatted;
}

/** "25" or "25.5" or "25.50" to 2550 (for a 2-digit currency); null when it is not an amount. */
function toMinor(input, currency) {
  const exponent = digits(currency);
  const match = /^\s*(\d{1,9})(?:[.,](\d+))?\s*$/.exec(input);
  if (!match) return null;
  const fraction = match[2] || "";
  if (fraction.length > exponent) return null;
  const minor = Number(match[1]) * 10 ** exponent + Number((fraction + "0".repeat(exponent)).slice(0, exponent) || "0");
  return minor > 0 ? minor : null;
}

// ---- rendering helpers ----

function h(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attributes)) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (key === "text") node.textContent = value;
    else node.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

function show(title, ...content) {
  document.title = title + " · CareForAll";
  const root = main();
  // An absent part (a campaign without a description) is left out, not written as "null".
  root.replaceChildren(...content.filter((part) => part !== null && part !== undefined && part !== false));
  root.focus({ preventScroll: true });
}

function field(label, input, hint) {
  const id = input.id || "f-" + Math.random().toString(36).slice(2);
  input.id = id;
  return h("div", { class: "field" }, h("label", { for: id }, label), input, hint ? h("p", { class: "muted" }, hint) : null);
}

function notice(kind, text) {
  return h("p", { class: "notice " + kind, role: kind === "error" ? "alert" : "status" }, text);
}

function progress(campaign) {
  const percent = campaign.goal_amount > 0 ? Math.min(100, Math.round((campaign.captured_amount / campaign.goal_amount) * 100)) : 0;
  const fill = h("span", {});
  fill.style.width = percent + "%";  // set through the CSSOM: the page's CSP allows no inline style attributes
  const bar = h("div", { class: "progress", role: "progressbar", "aria-label": "Raised towards the goal",
    "aria-valuemin": "0", "aria-valuemax": "100", "aria-valuenow": String(percent) }, fill);
  return { bar, percent };
}

function renderSessionLinks() {
  const current = session();
  const holder = document.getElementById("session-links");
  if (!holder) return;
  holder.replaceChildren(...(current
    ? [h("a", { href: "#/donations" }, "My donations"),
       current.user.role === "admin" ? h("a", { href: "#/admin" }, "Admin") : null,
       h("span", { class: "muted" }, current.user.name),
       h("button", { class: "link", type: "button", onclick: signOut }, "Sign out")]
    : [h("a", { href: "#/login" }, "Sign in"), h("a", { href: "#/register" }, "Register")]).filter(Boolean));
  holder.style.display = "contents";
}

// ---- views ----

async function campaignsView() {
  show("Campaigns", h("h1", {}, "Campaigns"), h("p", { class: "muted" }, "Loading campaigns…"));
  const answer = await api("GET", "/campaigns?status=active&limit=100", { auth: false });
  if (answer.status !== 200) return show("Campaigns", h("h1", {}, "Campaigns"), notice("error", errorText(answer)));
  const items = answer.data.items;
  const list = h("ul", { class: "grid", "aria-label": "Active campaigns" }, items.map((campaign) => {
    const { bar, percent } = progress(campaign);
    return h("li", { class: "card" },
      h("h2", {}, h("a", { href: "#/campaigns/" + campaign.id }, campaign.title)),
      h("p", { class: "muted" }, campaign.description || ""),
      bar,
      h("p", {}, h("strong", {}, money(campaign.captured_amount, campaign.currency)), " raised of ",
        money(campaign.goal_amount, campaign.currency), " (" + percent + "%)"),
      h("a", { class: "button", href: "#/campaigns/" + campaign.id }, "Donate"));
  }));
  show("Campaigns", h("h1", {}, "Campaigns"),
    items.length ? list : h("p", { class: "muted" }, "No campaign is taking donations yet."));
}

async function campaignView(id) {
  show("Campaign", h("p", { class: "muted" }, "Loading…"));
  const answer = await api("GET", "/campaigns/" + encodeURIComponent(id));
  if (answer.status !== 200) return show("Campaign", h("h1", {}, "Campaign"), notice("error", errorText(answer)), h("p", {}, h("a", { href: "#/" }, "All campaigns")));
  let campaign = answer.data;

  const totals = h("div", { "aria-live": "polite" });
  const liveBadge = h("span", { class: "live", id: "live" }, "connecting…");
  const history = h("ul", { class: "history", id: "history" });
  const drawTotals = () => {
    const { bar, percent } = progress(campaign);
    totals.replaceChildren(
      bar,
      h("div", { class: "stats" },
        h("div", { class: "stat" }, h("b", { id: "raised" }, money(campaign.captured_amount, campaign.currency)), "raised (" + percent + "% of " + money(campaign.goal_amount, campaign.currency) + ")"),
        h("div", { class: "stat" }, h("b", {}, money(campaign.pending_amount + campaign.authorized_amount, campaign.currency)), "on its way"),
        h("div", { class: "stat" }, h("b", { id: "donations-count" }, String(campaign.total_payments)), "donations"),
        h("div", { class: "stat" }, h("b", {}, String(campaign.total_pledges)), "pledges")));
  };
  const drawHistory = async () => {
    // The public history has a row per donation (failed ones left out), newest first, with its status.
    // An admin's open refund form is not swept away by other donations arriving.
    if (history.querySelector("li.refund form")) return;
    const items = await api("GET", "/campaigns/" + encodeURIComponent(id) + "/donations?limit=20", { auth: false });
    if (items.status !== 200) return;
    const donations = items.data.items;
    const admin = session() && session().user.role === "admin";
    history.replaceChildren(...(donations.length ? donations.map((item) => {
      const row = h("li", { "data-pledge": item.pledge_id },
        h("span", {}, h("strong", {}, item.donor_name), item.message ? " — " + item.message : ""),
        h("span", {}, money(item.amount, item.currency),
          item.refunded_amount > 0 && item.status !== "REFUNDED" ? " (" + money(item.refunded_amount, item.currency) + " refunded)" : "",
          " ", h("span", { class: "badge " + item.status }, item.status.toLowerCase()),
          admin && item.status === "CAPTURED" ? h("button", { class: "secondary small", type: "button", onclick: () => refundForm(item, row) }, "Refund") : null));
      return row;
    }) : [h("li", { class: "muted" }, "No donations yet. Be the first!")]));
  };

  drawTotals();
  show(campaign.title,
    h("p", {}, h("a", { href: "#/" }, "← All campaigns")),
    h("h1", {}, campaign.title),
    campaign.description ? h("p", {}, campaign.description) : null,
    h("p", {}, h("span", { class: "badge " + campaign.status }, campaign.status), " ", liveBadge),
    totals,
    h("div", { class: "layout" },
      h("section", { "aria-labelledby": "history-title" }, h("h2", { id: "history-title" }, "Recent donations"), history),
      h("section", { "aria-labelledby": "donate-title", class: "card" }, h("h2", { id: "donate-title" }, "Donate"),
        campaign.status === "active" ? donationForm(campaign) : h("p", {}, "This campaign is not taking donations now."))));
  drawHistory();

  // Live totals: Server-Sent Events from campaign-service; the browser reconnects by itself.
  if (window.EventSource) {
    const source = new EventSource("/api/campaigns/" + encodeURIComponent(id) + "/stream");
    source.addEventListener("open", () => { liveBadge.textContent = "live"; liveBadge.classList.add("on"); });
    source.addEventListener("error", () => { liveBadge.textContent = "reconnecting…"; liveBadge.classList.remove("on"); });
    source.addEventListener("campaign", (event) => {
      const next = JSON.parse(event.data);
      const moved = next.total_pledges !== campaign.total_pledges || next.captured_amount !== campaign.captured_amount
        || next.failed_amount !== campaign.failed_amount || next.refunded_amount !== campaign.refunded_amount;
      campaign = next;
      drawTotals();
      if (moved) drawHistory();
    });
    stopLive = () => source.close();
  }
}

/** An admin's refund of one donation, under the history row: all that is left, or a part. */
function refundForm(item, row) {
  if (row.nextSibling && row.nextSibling.classList && row.nextSibling.classList.contains("refund")) return;
  const wrapper = h("li", { class: "refund" });
  const left = item.amount - (item.refunded_amount || 0);
  const amount = h("input", { type: "text", inputmode: "decimal", name: "refund-amount", autocomplete: "off",
    value: (left / 10 ** digits(item.currency)).toFixed(digits(item.currency)) });
  const reason = h("input", { type: "text", name: "refund-reason", maxlength: "500", required: true, value: "" });
  const status = h("div", { "aria-live": "polite" });
  // One key per form: a double click, or a retry after an error, is the same refund.
  const key = crypto.randomUUID ? crypto.randomUUID() : String(Date.now()) + Math.random();
  const form = h("form", { class: "refund card", novalidate: true },
    h("h3", {}, "Refund " + item.donor_name + "'s donation"),
    field("Amount (" + item.currency + ")", amount, "At most " + money(left, item.currency) + "."),
    field("Reason", reason),
    h("div", { class: "actions" },
      h("button", { type: "submit", class: "danger" }, "Refund"),
      h("button", { type: "button", class: "secondary", onclick: () => wrapper.remove() }, "Cancel")),
    status);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const minor = toMinor(amount.value, item.currency);
    if (minor === null || minor > left) return status.replaceChildren(notice("error", "Enter an amount of at most " + money(left, item.currency) + "."));
    if (!reason.value.trim()) return status.replaceChildren(notice("error", "Say why the donation is refunded."));
    const button = form.querySelector("button[type=submit]");
    button.disabled = true;
    status.replaceChildren(notice("info", "Refunding…"));
    // The payment of the pledge, then its refund.
    const payments = await api("GET", "/payments?pledge_id=" + encodeURIComponent(item.pledge_id));
    const payment = payments.status === 200 && payments.data.items[0];
    if (!payment) {
      button.disabled = false;
      return status.replaceChildren(notice("error", payments.status === 200 ? "This donation has no payment to refund." : errorText(payments)));
    }
    const answer = await api("POST", "/payments/" + encodeURIComponent(payment.id) + "/refunds",
      { body: { amount: minor, reason: reason.value.trim() }, headers: { "Idempotency-Key": key } });
    button.disabled = false;
    if (answer.status !== 201) return status.replaceChildren(notice("error", errorText(answer)));
    // The answer goes above the list, which the next live update redraws with the refund.
    const done = notice("ok", "Refunded " + money(answer.data.amount, answer.data.currency) + " to " + item.donor_name + ". The totals follow in a moment.");
    done.id = "refund-result";
    const list = wrapper.parentNode;
    const earlier = document.getElementById("refund-result");
    if (earlier) earlier.remove();
    list.parentNode.insertBefore(done, list);
    wrapper.remove();
  });
  wrapper.append(form);
  row.after(wrapper);
  reason.focus();
}

function donationForm(campaign) {
  const signedIn = session();
  const amount = h("input", { type: "text", inputmode: "decimal", name: "amount", required: true, autocomplete: "off", value: "25" });
  const message = h("textarea", { name: "message", rows: "2", maxlength: "500" });
  const anonymous = h("input", { type: "checkbox", name: "anonymous", id: "anonymous" });
  const name = h("input", { type: "text", name: "name", autocomplete: "name", required: !signedIn });
  const email = h("input", { type: "email", name: "email", autocomplete: "email", required: !signedIn });
  const status = h("div", { "aria-live": "polite" });
  const submit = h("button", { type: "submit" }, "Donate");
  const card = (value, label, checked) => h("label", { class: "choice" },
    h("input", { type: "radio", name: "card", value, checked }), label);

  const form = h("form", { novalidate: true },
    field("Amount (" + campaign.currency + ")", amount),
    signedIn ? h("p", { class: "muted" }, "Donating as " + signedIn.user.name + ".") : [
      field("Your name", name), field("Your email", email, "For your receipt. Never shown publicly.")],
    field("Message (optional)", message),
    h("div", { class: "field" }, h("label", { class: "choice", for: "anonymous" }, anonymous, "Show my donation as Anonymous")),
    h("fieldset", {}, h("legend", {}, "Test card (sandbox)"),
      card("pm_card_visa", "Visa that succeeds", true),
      card("pm_card_visa_chargeDeclined", "Visa that is declined", false)),
    submit, status);

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const minor = toMinor(amount.value, campaign.currency);
    if (minor === null) { status.replaceChildren(notice("error", "Enter an amount such as 25 or 25.50.")); amount.focus(); return; }
    if (!signedIn && (!name.value.trim() || !email.value.includes("@"))) {
      status.replaceChildren(notice("error", "Enter your name and a valid email, or sign in.")); (name.value.trim() ? email : name).focus(); return;
    }
    submit.disabled = true;
    status.replaceChildren(notice("", "Processing your donation…"));
    const body = { campaign_id: campaign.id, amount: minor, currency: campaign.currency, anonymous: anonymous.checked };
    if (message.value.trim()) body.message = message.value.trim();
    if (!signedIn) body.donor = { name: name.value.trim(), email: email.value.trim() };
    // One key per submission: a retried or double-clicked submit makes one pledge.
    const key = form.dataset.key || (form.dataset.key = (crypto.randomUUID ? crypto.randomUUID() : String(Date.now()) + Math.random()));
    const pledge = await api("POST", "/pledges", { body, headers: { "Idempotency-Key": key } });
    if (pledge.status !== 201) { submit.disabled = false; status.replaceChildren(notice("error", errorText(pledge))); return; }
    const method = form.querySelector("input[name=card]:checked").value;
    const receipt = pledge.data.receipt_token;
    const path = "/payments" + (receipt ? "?receipt_token=" + encodeURIComponent(receipt) : "");
    const payment = await api("POST", path, { body: { pledge_id: pledge.data.id, payment_method: method } });
    if (payment.status !== 201 && payment.status !== 200) { submit.disabled = false; status.replaceChildren(notice("error", errorText(payment))); return; }
    sessionStorage.setItem(RESULT_KEY, JSON.stringify({ campaign, pledge: pledge.data, payment: payment.data, receipt }));
    location.hash = "#/result";
  });
  return form;
}

function resultView() {
  let saved = null;
  try { saved = JSON.parse(sessionStorage.getItem(RESULT_KEY) || "null"); } catch (_) { /* none */ }
  if (!saved) return show("Donation", h("h1", {}, "Donation"), h("p", {}, "No donation to show. ", h("a", { href: "#/" }, "See the campaigns.")));
  const { campaign, payment } = saved;
  const amount = money(payment.amount, payment.currency);
  const ok = payment.status === "CAPTURED" || payment.status === "AUTHORIZED";
  const pending = payment.status === "PENDING";
  show(ok ? "Thank you" : "Payment declined",
    h("div", { class: "card result", role: "status" },
      h("p", { class: "big", id: "result-title" }, ok ? "Thank you!" : pending ? "Almost there" : "Payment declined"),
      h("p", { id: "result-text" }, ok
        ? "Your donation of " + amount + " to " + campaign.title + " was received."
        : pending ? "Your donation of " + amount + " is being processed; the campaign page will show it shortly."
          : "Your card was declined, so nothing was charged. You can try again with another card."),
      h("p", { class: "muted" }, "Payment " + payment.id + " · " + payment.status.toLowerCase()),
      ok ? h("p", {}, h("a", { href: receiptLink(saved.pledge.id, saved.receipt), id: "receipt-link" }, "Your receipt"),
        saved.receipt ? h("span", { class: "muted" }, " · keep this link: it is your way back to this donation") : null) : null,
      h("p", {}, h("a", { class: "button", href: "#/campaigns/" + campaign.id, id: "back-to-campaign" }, "Back to " + campaign.title))));
}

/** The signed-in donor's own donations, newest first, a page at a time. */
async function myDonationsView() {
  if (!session()) { location.hash = "#/login"; return; }
  const list = h("tbody", {});
  const more = h("button", { type: "button", class: "link", hidden: true }, "Show more");
  const titles = {};
  show("My donations", h("h1", {}, "My donations"),
    h("table", { class: "donations" },
      h("thead", {}, h("tr", {}, ["Date", "Campaign", "Amount", "Status", "Receipt"].map((label) => h("th", { scope: "col" }, label)))), list),
    h("p", {}, more));
  let cursor = null;
  const load = async () => {
    more.hidden = true;
    const answer = await api("GET", "/pledges?limit=20" + (cursor ? "&cursor=" + encodeURIComponent(cursor) : ""));
    if (answer.status !== 200) { list.append(h("tr", {}, h("td", { colspan: "5" }, notice("error", errorText(answer))))); return; }
    for (const pledge of answer.data.items) {
      if (!(pledge.campaign_id in titles)) {
        const campaign = await api("GET", "/campaigns/" + encodeURIComponent(pledge.campaign_id), { auth: false });
        titles[pledge.campaign_id] = campaign.status === 200 ? campaign.data.title : pledge.campaign_id;
      }
      const refunded = pledge.refunded_amount > 0 ? h("div", { class: "muted" }, money(pledge.refunded_amount, pledge.currency) + " refunded") : null;
      list.append(h("tr", {},
        h("td", {}, new Date(pledge.created_at).toLocaleDateString()),
        h("td", {}, h("a", { href: "#/campaigns/" + pledge.campaign_id }, titles[pledge.campaign_id])),
        h("td", {}, money(pledge.amount, pledge.currency), refunded),
        h("td", {}, h("span", { class: "badge " + pledge.status }, pledge.status.toLowerCase())),
        h("td", {}, pledge.receipt_number ? h("a", { href: receiptLink(pledge.id) }, pledge.receipt_number) : "—")));
    }
    if (!list.children.length) list.append(h("tr", {}, h("td", { colspan: "5", class: "muted" }, "No donations yet.")));
    cursor = answer.data.next_cursor;
    more.hidden = !cursor;
  };
  more.addEventListener("click", load);
  await load();
}

/** A receipt's page in this app; a guest's link carries their receipt token (after the #, so it never reaches a server log). */
function receiptLink(pledgeId, token) {
  return "#/receipts/" + encodeURIComponent(pledgeId) + (token ? "/" + encodeURIComponent(token) : "");
}

async function receiptView(pledgeId, token) {
  show("Receipt", h("h1", {}, "Receipt"), h("p", { class: "muted" }, "Loading…"));
  const path = "/pledges/" + encodeURIComponent(pledgeId) + "/receipt" + (token ? "?receipt_token=" + encodeURIComponent(token) : "");
  const noReceipt = (answer) => answer.status === 404 && answer.data && answer.data.error && answer.data.error.code === "no_receipt";
  const pledgePath = "/pledges/" + encodeURIComponent(pledgeId) + (token ? "?receipt_token=" + encodeURIComponent(token) : "");
  // Issued once the capture reaches pledge-service, a moment after the payment: wait for it
  // while the news of the payment is on its way (for at most 15 s), not for a donation that failed.
  let answer = await api("GET", path);
  for (let attempt = 0; attempt < 15 && noReceipt(answer); attempt++) {
    const pledge = await api("GET", pledgePath);
    if (pledge.status !== 200 || pledge.data.status === "FAILED") break;
    show("Receipt", h("h1", {}, "Receipt"), notice("info", "Your receipt is being prepared…"));
    await new Promise((resolve) => setTimeout(resolve, 1000));
    if (!location.hash.startsWith("#/receipts/")) return;
    answer = await api("GET", path);
  }
  if (noReceipt(answer)) {
    // No receipt (not captured, or declined): the donation itself, with its status.
    const pledge = await api("GET", pledgePath);
    if (pledge.status !== 200) return show("Receipt", h("h1", {}, "Receipt"), notice("error", errorText(pledge)));
    const p = pledge.data;
    return show("Your donation", h("div", { class: "card receipt" },
      h("h1", {}, "Your donation"),
      h("p", {}, money(p.amount, p.currency), " ", h("span", { class: "badge " + p.status, id: "donation-status" }, p.status.toLowerCase())),
      h("p", {}, p.status === "FAILED" ? "The payment did not go through, so nothing was charged and there is no receipt."
        : "A receipt is issued once the payment is captured; come back to this link later.")));
  }
  if (answer.status !== 200) return show("Receipt", h("h1", {}, "Receipt"), notice("error", errorText(answer)));
  const r = answer.data;
  const rows = [["Receipt number", r.receipt_number], ["Campaign", r.campaign_title || r.campaign_id], ["Donor", r.donor_name]];
  if (r.donor_email) rows.push(["Email", r.donor_email]);
  rows.push(["Amount", money(r.amount, r.currency)], ["Date of donation", new Date(r.captured_at).toLocaleDateString()],
    ["Donation reference", r.pledge_id]);
  if (r.refunded_amount > 0) rows.push(["Refunded", money(r.refunded_amount, r.currency)]);
  show("Receipt " + r.receipt_number,
    h("div", { class: "card receipt" },
      h("h1", {}, "Donation receipt"),
      h("p", { class: "big", id: "receipt-number" }, r.receipt_number),
      h("table", {}, h("tbody", {}, rows.map(([label, value]) => h("tr", {}, h("th", { scope: "row" }, label), h("td", {}, value))))),
      h("p", {}, "Thank you for your donation to " + (r.campaign_title || "this campaign") + "."),
      h("p", { class: "noprint" }, h("button", { type: "button", onclick: () => window.print() }, "Print"))));
}

function authView(mode) {
  const registering = mode === "register";
  const email = h("input", { type: "email", name: "email", autocomplete: "email", required: true });
  const password = h("input", { type: "password", name: "password", autocomplete: registering ? "new-password" : "current-password", required: true, minlength: "8" });
  const name = h("input", { type: "text", name: "name", autocomplete: "name", required: true });
  const status = h("div", { "aria-live": "polite" });
  const form = h("form", { class: "card" },
    registering ? field("Name", name) : null,
    field("Email", email),
    field("Password", password, registering ? "At least 8 characters." : null),
    h("button", { type: "submit" }, registering ? "Create account" : "Sign in"), status);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const body = registering ? { email: email.value, password: password.value, name: name.value } : { email: email.value, password: password.value };
    const answer = await api("POST", registering ? "/users/register" : "/users/login", { body, auth: false });
    if (answer.status !== 200 && answer.status !== 201) { status.replaceChildren(notice("error", errorText(answer))); return; }
    saveSession(answer.data);
    renderSessionLinks();
    location.hash = answer.data.user.role === "admin" ? "#/admin" : "#/";
  });
  show(registering ? "Register" : "Sign in", h("h1", {}, registering ? "Create an account" : "Sign in"), form,
    h("p", {}, registering ? h("a", { href: "#/login" }, "Already registered? Sign in.") : h("a", { href: "#/register" }, "New here? Create an account.")));
}

async function adminView() {
  const current = session();
  if (!current || current.user.role !== "admin") {
    return show("Admin", h("h1", {}, "Admin"), notice("error", "Sign in as an administrator to see this page."), h("p", {}, h("a", { href: "#/login" }, "Sign in")));
  }
  const services = h("div", { class: "table-wrap", "aria-live": "polite" }, h("p", { class: "muted" }, "Loading…"));
  const campaigns = h("div", { class: "table-wrap" });
  const status = h("div", { "aria-live": "polite" });

  const title = h("input", { type: "text", name: "title", required: true });
  const description = h("textarea", { name: "description", rows: "2" });
  const goal = h("input", { type: "text", inputmode: "decimal", name: "goal", required: true });
  const currency = h("select", { name: "currency" }, ["USD", "EUR", "GBP", "BDT", "JPY"].map((code) => h("option", { value: code }, code)));
  const createForm = h("form", { class: "card", id: "create-campaign" },
    h("h3", {}, "New campaign"), field("Title", title), field("Description", description),
    field("Goal", goal, "In the currency's units, e.g. 1000 or 1000.50."), field("Currency", currency),
    h("button", { type: "submit" }, "Create campaign"));
  createForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    const minor = toMinor(goal.value, currency.value);
    if (!title.value.trim() || minor === null) { status.replaceChildren(notice("error", "A campaign needs a title and a goal such as 1000.")); return; }
    const answer = await api("POST", "/campaigns", { body: { title: title.value.trim(), description: description.value.trim(), goal_amount: minor, currency: currency.value } });
    if (answer.status !== 201) { status.replaceChildren(notice("error", errorText(answer))); return; }
    status.replaceChildren(notice("ok", "Campaign “" + answer.data.title + "” created."));
    createForm.reset();
    drawCampaigns();
  });

  async function change(campaign, patch, verb) {
    const answer = patch === null
      ? await api("DELETE", "/campaigns/" + campaign.id)
      : await api("PATCH", "/campaigns/" + campaign.id, { body: patch });
    status.replaceChildren(answer.status === 200 ? notice("ok", "“" + campaign.title + "” " + verb + ".") : notice("error", errorText(answer)));
    drawCampaigns();
  }

  function editRow(campaign, row) {
    const editTitle = h("input", { type: "text", value: campaign.title });
    const editGoal = h("input", { type: "text", value: money(campaign.goal_amount, campaign.currency).replace(/[^\d.,]/g, "").replace(/,/g, "") });
    const editDescription = h("textarea", { rows: "2" }, campaign.description || "");
    const form = h("form", {}, field("Title", editTitle), field("Description", editDescription), field("Goal (" + campaign.currency + ")", editGoal),
      h("div", { class: "row-actions" }, h("button", { type: "submit" }, "Save"), h("button", { type: "button", class: "secondary", onclick: drawCampaigns }, "Cancel")));
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      const minor = toMinor(editGoal.value, campaign.currency);
      if (minor === null) { status.replaceChildren(notice("error", "Enter a goal such as 1000.")); return; }
      change(campaign, { title: editTitle.value.trim(), description: editDescription.value.trim(), goal_amount: minor }, "saved");
    });
    row.replaceChildren(h("td", { colspan: "5" }, form));
    editTitle.focus();
  }

  // The campaign's event log, newest first: every event campaign-service ingested and what it did.
  async function showEventLog(campaign) {
    const answer = await api("GET", "/campaigns/" + encodeURIComponent(campaign.id) + "/events?limit=50");
    if (answer.status !== 200) { lookupResult.replaceChildren(notice("error", errorText(answer))); return; }
    lookupResult.replaceChildren(h("h3", {}, "Events of “" + campaign.title + "”"),
      eventRows(answer.data.items, [["Event", (e) => e.type], ["Pledge", (e) => h("a", { href: "#/admin", onclick: (ev) => { ev.preventDefault(); lookup(e.pledge_id); } }, e.pledge_id)],
        ["From", (e) => e.source], ["Effect", (e) => e.effect], ["Received", (e) => new Date(e.received_at).toLocaleString()]]));
    lookupResult.scrollIntoView();
  }

  // Replays the campaign's event log without keeping the result (a dry run), and shows what it
  // would change; rebuilding for real swaps the replayed read model in.
  async function checkReadModel(campaign) {
    status.replaceChildren(notice("info", "Replaying the events of “" + campaign.title + "”…"));
    const path = "/campaigns/" + encodeURIComponent(campaign.id) + "/rebuild";
    const dry = await api("POST", path + "?from=events&dry_run=true", { body: {} });
    if (dry.status !== 200) { status.replaceChildren(notice("error", errorText(dry))); return; }
    const report = dry.data;
    if (!report.differences.length && JSON.stringify(report.before) === JSON.stringify(report.after)) {
      status.replaceChildren(notice("ok", "“" + campaign.title + "”: " + report.events + " events replayed; the totals and every donation match."));
      return;
    }
    const rebuild = h("button", { type: "button", class: "danger", onclick: async () => {
      const real = await api("POST", path + "?from=events", { body: {} });
      status.replaceChildren(real.status === 200 ? notice("ok", "“" + campaign.title + "” rebuilt from its " + real.data.events + " events.") : notice("error", errorText(real)));
      drawCampaigns();
    } }, "Rebuild from the events");
    const totals = ["pending_amount", "authorized_amount", "captured_amount", "failed_amount", "refunded_amount", "total_pledges", "total_payments"]
      .filter((key) => report.before[key] !== report.after[key])
      .map((key) => h("li", {}, key.replace(/_/g, " ") + ": " + report.before[key] + " → " + report.after[key]));
    status.replaceChildren(h("div", { class: "notice error", id: "rebuild-report", role: "alert" },
      h("p", {}, "“" + campaign.title + "”: replaying its " + report.events + " events gives a different read model."),
      totals.length ? h("ul", {}, totals) : null,
      report.differences.length ? h("ul", {}, report.differences.map((d) => h("li", {}, "pledge " + d.pledge_id + ": " + d.field + " " + d.before + " → " + d.after))) : null,
      rebuild));
  }

  async function drawCampaigns() {
    const answer = await api("GET", "/campaigns?limit=100");
    if (answer.status !== 200) { campaigns.replaceChildren(notice("error", errorText(answer))); return; }
    campaigns.replaceChildren(h("table", {},
      h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Campaign"), h("th", { scope: "col" }, "Status"), h("th", { scope: "col" }, "Raised"), h("th", { scope: "col" }, "Pledges"), h("th", { scope: "col" }, "Actions"))),
      h("tbody", {}, answer.data.items.map((campaign) => {
        const row = h("tr", {});
        const actions = h("div", { class: "row-actions" },
          h("button", { type: "button", class: "secondary", onclick: () => editRow(campaign, row) }, "Edit"),
          h("button", { type: "button", class: "secondary", onclick: () => showEventLog(campaign) }, "Events"),
          h("button", { type: "button", class: "secondary", onclick: () => checkReadModel(campaign) }, "Check totals"),
          campaign.status === "active" ? h("button", { type: "button", class: "secondary", onclick: () => change(campaign, { status: "paused" }, "paused") }, "Pause") : null,
          campaign.status === "paused" || campaign.status === "draft" ? h("button", { type: "button", class: "secondary", onclick: () => change(campaign, { status: "active" }, "opened") }, "Open") : null,
          campaign.status !== "closed" ? h("button", { type: "button", class: "danger", onclick: () => { if (confirm("Close “" + campaign.title + "”? Its history stays.")) change(campaign, null, "closed"); } }, "Close") : null);
        row.append(h("td", {}, h("a", { href: "#/campaigns/" + campaign.id }, campaign.title)),
          h("td", {}, h("span", { class: "badge " + campaign.status }, campaign.status)),
          h("td", {}, money(campaign.captured_amount, campaign.currency), " / ", money(campaign.goal_amount, campaign.currency)),
          h("td", {}, String(campaign.total_pledges)), h("td", {}, campaign.status === "closed" ? h("span", { class: "muted" }, "—") : actions));
        return row;
      }))));
  }

  async function drawServices() {
    const answer = await api("GET", "/admin/status");
    if (answer.status !== 200) { services.replaceChildren(notice("error", errorText(answer))); return; }
    services.replaceChildren(h("table", { id: "services" },
      h("thead", {}, h("tr", {}, ["Service", "Health", "Version", "Outbox backlog", "Oldest pending", "Dead events", "Delivery failures", "Server errors"].map((label) => h("th", { scope: "col" }, label)))),
      h("tbody", {}, answer.data.services.map((service) => h("tr", {},
        h("td", {}, service.name),
        h("td", {}, h("span", { class: "badge " + (service.ready ? "up" : "down") }, service.ready ? "ready" : "down")),
        h("td", {}, service.version || "—"),
        h("td", {}, service.outbox_pending == null ? "—" : String(service.outbox_pending)),
        h("td", {}, service.outbox_oldest_pending_seconds == null ? "—" : service.outbox_oldest_pending_seconds.toFixed(1) + " s"),
        h("td", {}, service.outbox_dead == null ? "—" : String(service.outbox_dead)),
        h("td", {}, service.delivery_failures == null ? "—" : String(service.delivery_failures)),
        h("td", {}, String(service.server_errors ?? "—")))))),
      h("p", { class: "muted" }, "Checked " + new Date(answer.data.checked_at).toLocaleTimeString() + "; refreshed every 5 seconds."));
  }

  // Mail from notification-service: receipts, failed payments, refunds, goals reached. In dev
  // mode without SMTP each one is an .eml file in the data folder, named in "Sent to".
  const mails = h("div", { class: "table-wrap", id: "mails" });
  const mailFilter = h("select", { name: "mail-status", "aria-label": "Show mail" },
    [["", "All mail"], ["QUEUED", "Waiting"], ["FAILED", "Refused"], ["SENT", "Sent"]].map(([value, label]) => h("option", { value }, label)));
  mailFilter.addEventListener("change", () => drawMails());
  async function drawMails() {
    const answer = await api("GET", "/notifications?limit=50" + (mailFilter.value ? "&status=" + mailFilter.value : ""));
    if (answer.status !== 200) { mails.replaceChildren(notice("error", errorText(answer))); return; }
    if (!answer.data.items.length) { mails.replaceChildren(h("p", { class: "muted" }, "No mail yet.")); return; }
    mails.replaceChildren(h("table", {},
      h("thead", {}, h("tr", {}, ["When", "Kind", "To", "Subject", "Status", "Sent to", ""].map((label) => h("th", { scope: "col" }, label)))),
      h("tbody", {}, answer.data.items.map((mail) => h("tr", { "data-mail": mail.id },
        h("td", {}, new Date(mail.created_at).toLocaleString()),
        h("td", {}, mail.kind.replace("_", " ")),
        h("td", {}, mail.recipients.join(", ")),
        h("td", {}, mail.subject),
        h("td", {}, h("span", { class: "badge " + (mail.status === "SENT" ? "up" : mail.status === "FAILED" ? "down" : "") }, mail.status.toLowerCase()),
          mail.last_error ? h("div", { class: "muted" }, mail.last_error + " (" + mail.attempts + " attempts)") : null),
        h("td", {}, mail.delivery || "—"),
        h("td", {}, mail.status === "SENT" ? null : h("button", { type: "button", class: "secondary", onclick: async () => {
          const retried = await api("POST", "/notifications/" + encodeURIComponent(mail.id) + "/retry");
          status.replaceChildren(retried.status === 200 ? notice("ok", "“" + mail.subject + "” is being sent again.") : notice("error", errorText(retried)));
          drawMails();
        } }, "Send again")))))));
  }

  // Each publisher's outbox: events refused for good (dead) and events waiting for their next
  // attempt, with the last error; an admin sends one again, or parks one with a reason.
  const outboxes = h("div", { id: "outboxes" });
  const publishers = [["campaigns", "campaign-service"], ["pledges", "pledge-service"], ["payments", "payment-service"]];
  async function outboxAction(segment, row, verb) {
    let body;
    if (verb === "park") {
      const reason = prompt("Why park this event? It stays dead until someone retries it.");
      if (!reason || !reason.trim()) return;
      body = { reason: reason.trim() };
    }
    const path = "/" + segment + "/admin/outbox/" + encodeURIComponent(row.id);
    const answer = await api("POST", path + "/" + verb, { body: body || {} });
    if (answer.status !== 200) { status.replaceChildren(notice("error", errorText(answer))); return; }
    if (verb === "park") {
      status.replaceChildren(notice("ok", row.event_type + " parked."));
    } else {
      // Sent again: follow it until it is delivered or refused again.
      status.replaceChildren(notice("info", row.event_type + " is being sent again…"));
      for (let tries = 0; tries < 40; tries++) {
        await new Promise((resolve) => setTimeout(resolve, 250));
        const now = await api("GET", path);
        if (now.status !== 200) break;
        if (now.data.delivered_at) { status.replaceChildren(notice("ok", row.event_type + " " + row.id + " delivered.")); break; }
        if (now.data.dead_at) { status.replaceChildren(notice("error", row.event_type + " was refused again: " + (now.data.last_error || ""))); break; }
      }
    }
    drawOutboxes();
  }
  async function drawOutboxes() {
    const sections = await Promise.all(publishers.map(async ([segment, name]) => {
      const [dead, pending] = await Promise.all(["dead", "pending"].map((state) => api("GET", "/" + segment + "/admin/outbox?limit=20&state=" + state)));
      if (dead.status !== 200 || pending.status !== 200) return h("section", {}, h("h3", {}, name), notice("error", errorText(dead.status !== 200 ? dead : pending)));
      const rows = dead.data.items.map((row) => [row, "dead"]).concat(pending.data.items.map((row) => [row, "waiting"]));
      return h("section", { "data-outbox": segment }, h("h3", {}, name + " outbox"),
        rows.length ? h("table", {},
          h("thead", {}, h("tr", {}, ["Event", "To", "State", "Attempts", "Last error", ""].map((label) => h("th", { scope: "col" }, label)))),
          h("tbody", {}, rows.map(([row, state]) => h("tr", { "data-event": row.event_id },
            h("td", {}, row.event_type, h("div", { class: "muted" }, row.event_id)),
            h("td", {}, row.destination),
            h("td", {}, h("span", { class: "badge " + (state === "dead" ? "down" : "") }, state),
              state === "waiting" && row.next_attempt_at ? h("div", { class: "muted" }, "next " + new Date(row.next_attempt_at).toLocaleTimeString()) : null),
            h("td", {}, String(row.attempts)),
            h("td", {}, row.last_error || "—"),
            h("td", {}, h("div", { class: "row-actions" },
              h("button", { type: "button", class: "secondary", onclick: () => outboxAction(segment, row, "retry") }, "Retry"),
              state === "waiting" ? h("button", { type: "button", class: "danger", onclick: () => outboxAction(segment, row, "park") }, "Park") : null))))))
          : h("p", { class: "muted" }, "Nothing waiting, nothing dead."));
    }));
    outboxes.replaceChildren(...sections);
  }

  // Reconciliation: the kept runs, each difference they found, and running one now.
  const reconciliations = h("div", { id: "reconciliations" });
  async function reconcile(repair) {
    status.replaceChildren(notice("info", repair ? "Reconciling and repairing…" : "Reconciling…"));
    const answer = await api("POST", "/campaigns/admin/reconcile" + (repair ? "?repair=true" : ""), { body: {} });
    if (answer.status !== 200) { status.replaceChildren(notice("error", errorText(answer))); return; }
    const run = answer.data;
    status.replaceChildren(run.drift.length
      ? notice("error", "Reconciliation found " + run.drift.length + " difference(s)" + (repair ? "; " + run.resent + " event(s) sent again." : "."))
      : notice("ok", "Reconciliation checked " + run.campaigns_checked + " campaign(s): no drift."));
    drawReconciliations();
  }
  async function drawReconciliations() {
    const answer = await api("GET", "/campaigns/admin/reconciliations?limit=10");
    if (answer.status !== 200) { reconciliations.replaceChildren(notice("error", errorText(answer))); return; }
    const runs = answer.data.items;
    reconciliations.replaceChildren(
      h("div", { class: "row-actions" },
        h("button", { type: "button", class: "secondary", onclick: () => reconcile(false) }, "Run reconciliation"),
        h("button", { type: "button", class: "danger", onclick: () => reconcile(true) }, "Run and repair")),
      runs.length ? h("table", {},
        h("thead", {}, h("tr", {}, ["Started", "Campaigns", "Drift", "Repaired"].map((label) => h("th", { scope: "col" }, label)))),
        h("tbody", {}, runs.map((run) => h("tr", { "data-run": run.run_id },
          h("td", {}, new Date(run.started_at).toLocaleString()),
          h("td", {}, String(run.campaigns_checked)),
          h("td", {}, run.drift.length
            ? h("ul", {}, run.drift.map((d) => h("li", {}, d.field + " in " + d.campaign_id + ": " + d.actual + ", expected " + d.expected
              + (d.pledge_ids.length ? " (pledges " + d.pledge_ids.join(", ") + ")" : ""))))
            : h("span", { class: "badge up" }, "no drift"),
            run.errors.length ? h("div", { class: "muted" }, run.errors.join("; ")) : null),
          h("td", {}, run.repaired ? "yes, " + run.resent + " event(s) sent again" : "no")))))
        : h("p", { class: "muted" }, "No reconciliation has run yet."));
  }

  // Look up a donation by its pledge id or the donor's email: the pledge and its transitions,
  // its payment and refunds, and the events each service recorded about it.
  const lookupInput = h("input", { type: "text", name: "lookup", placeholder: "pledge id or donor email" });
  const lookupResult = h("div", { id: "lookup" });
  const lookupForm = h("form", { class: "card", id: "lookup-form" }, field("Pledge id or donor email", lookupInput),
    h("button", { type: "submit" }, "Look up"));
  lookupForm.addEventListener("submit", (event) => { event.preventDefault(); lookup(lookupInput.value.trim()); });
  function eventRows(items, columns) {
    return items.length ? h("table", {}, h("thead", {}, h("tr", {}, columns.map(([label]) => h("th", { scope: "col" }, label)))),
      h("tbody", {}, items.map((item) => h("tr", {}, columns.map(([, value]) => h("td", {}, value(item)))))))
      : h("p", { class: "muted" }, "None.");
  }
  function outboxState(row) {
    return row.delivered_at ? "delivered " + new Date(row.delivered_at).toLocaleTimeString() : row.dead_at ? "dead: " + (row.last_error || "") : "waiting";
  }
  async function lookup(query) {
    if (!query) return;
    lookupResult.replaceChildren(h("p", { class: "muted" }, "Looking…"));
    if (query.includes("@")) {
      const found = await api("GET", "/pledges?limit=50&email=" + encodeURIComponent(query));
      if (found.status !== 200) { lookupResult.replaceChildren(notice("error", errorText(found))); return; }
      lookupResult.replaceChildren(h("h3", {}, "Donations by " + query),
        eventRows(found.data.items, [
          ["Pledge", (p) => h("a", { href: "#/admin", onclick: (e) => { e.preventDefault(); lookup(p.id); } }, p.id)],
          ["Donor", (p) => p.donor_name], ["Amount", (p) => money(p.amount, p.currency)],
          ["Status", (p) => h("span", { class: "badge " + p.status }, p.status.toLowerCase())],
          ["Made", (p) => new Date(p.created_at).toLocaleString()]]));
      return;
    }
    const pledge = await api("GET", "/pledges/" + encodeURIComponent(query));
    if (pledge.status !== 200) { lookupResult.replaceChildren(notice("error", errorText(pledge))); return; }
    const p = pledge.data;
    const [payments, campaignEvents, pledgeRows, paymentRows] = await Promise.all([
      api("GET", "/payments?pledge_id=" + encodeURIComponent(p.id)),
      api("GET", "/campaigns/" + encodeURIComponent(p.campaign_id) + "/events?limit=100&pledge_id=" + encodeURIComponent(p.id)),
      api("GET", "/pledges/admin/outbox?state=all&limit=100&pledge_id=" + encodeURIComponent(p.id)),
      api("GET", "/payments/admin/outbox?state=all&limit=100&pledge_id=" + encodeURIComponent(p.id))]);
    const paymentSummary = payments.status === 200 && payments.data.items[0];
    const payment = paymentSummary ? (await api("GET", "/payments/" + encodeURIComponent(paymentSummary.id))).data : null;
    const outboxColumns = [["Event", (r) => r.event_type], ["To", (r) => r.destination], ["State", outboxState], ["Attempts", (r) => String(r.attempts)]];
    lookupResult.replaceChildren(
      h("h3", {}, "Pledge " + p.id),
      h("p", {}, p.donor_name, " · ", money(p.amount, p.currency), " · ", h("span", { class: "badge " + p.status }, p.status.toLowerCase()),
        p.refunded_amount > 0 ? " · " + money(p.refunded_amount, p.currency) + " refunded" : "",
        p.receipt_number ? " · receipt " + p.receipt_number : ""),
      h("h4", {}, "Transitions"),
      eventRows(p.transitions || [], [["From", (t) => t.from || "—"], ["To", (t) => t.to], ["At", (t) => new Date(t.at).toLocaleString()]]),
      h("h4", {}, "Payment"),
      payment ? h("div", {},
        h("p", {}, payment.id, " · ", payment.status.toLowerCase(), " · ", payment.provider, " ", payment.provider_payment_id || ""),
        eventRows(payment.refunds || [], [["Refund", (r) => money(r.amount, r.currency)], ["Reason", (r) => r.reason], ["Status", (r) => r.status.toLowerCase()]]))
        : h("p", { class: "muted" }, "No payment."),
      h("h4", {}, "Events campaign-service ingested"),
      campaignEvents.status === 200 ? eventRows(campaignEvents.data.items, [["Event", (e) => e.type], ["From", (e) => e.source], ["Effect", (e) => e.effect],
        ["Received", (e) => new Date(e.received_at).toLocaleString()]]) : notice("error", errorText(campaignEvents)),
      h("h4", {}, "Events pledge-service sent"),
      pledgeRows.status === 200 ? eventRows(pledgeRows.data.items, outboxColumns) : notice("error", errorText(pledgeRows)),
      h("h4", {}, "Events payment-service sent"),
      paymentRows.status === 200 ? eventRows(paymentRows.data.items, outboxColumns) : notice("error", errorText(paymentRows)));
  }

  show("Admin", h("h1", {}, "Admin"), status,
    h("h2", {}, "Services"), services,
    h("h2", {}, "Look up a donation"), lookupForm, lookupResult,
    h("h2", {}, "Reconciliation"), reconciliations,
    h("h2", {}, "Events not delivered"), outboxes,
    h("h2", {}, "Campaigns"), createForm, campaigns,
    h("h2", {}, "Mail"), h("p", {}, mailFilter), mails);
  drawServices();
  drawReconciliations();
  drawOutboxes();
  drawCampaigns();
  drawMails();
  const timer = setInterval(() => { drawServices(); drawOutboxes(); }, 5000);
  stopLive = () => clearInterval(timer);
}

// ---- router ----

function route() {
  stopLive();
  stopLive = () => {};
  renderSessionLinks();
  const parts = (location.hash || "#/").slice(2).split("/");
  switch (parts[0]) {
    case "": return campaignsView();
    case "campaigns": return parts[1] ? campaignView(decodeURIComponent(parts[1])) : campaignsView();
    case "result": return resultView();
    case "donations": return myDonationsView();
    case "receipts": return receiptView(decodeURIComponent(parts[1] || ""), parts[2] ? decodeURIComponent(parts[2]) : null);
    case "login": return authView("login");
    case "register": return authView("register");
    case "admin": return adminView();
    default: return show("Not found", h("h1", {}, "Not found"), h("p", {}, h("a", { href: "#/" }, "See the campaigns.")));
  }
}

window.addEventListener("hashchange", route);
window.addEventListener("DOMContentLoaded", route);
