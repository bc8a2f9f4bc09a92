// authd's demo page: every action is a grpc-web call to auth.v1.AuthService on this origin.
// Tokens live in memory only (never localStorage), so closing the tab forgets them. The
// access token renews itself shortly before it expires; every button shows that its call
// is in flight and ignores presses until it is answered, so a double click sends one call.
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createGrpcWebTransport } from "@connectrpc/connect-web";
import { timestampDate } from "@bufbuild/protobuf/wkt";
import type { Timestamp } from "@bufbuild/protobuf/wkt";
import { AuthService, type SessionInfo, type TokenPair, type User } from "./gen/auth/v1/auth_pb.js";
import { BadRequestSchema } from "./gen/google/rpc/error_details_pb.js";

const client = createClient(
  AuthService,
  createGrpcWebTransport({ baseUrl: window.location.origin }),
);

let tokens: TokenPair | undefined;
let refreshTimer: number | undefined;
let refreshing: Promise<void> | undefined;

const element = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const status = element<HTMLParagraphElement>("status");

function say(message: string, isError = false) {
  status.textContent = message;
  status.classList.toggle("error", isError);
}

function bearer(): HeadersInit {
  return { authorization: `Bearer ${tokens?.accessToken ?? ""}` };
}

function when(at: Timestamp | undefined): string {
  return at ? timestampDate(at).toLocaleString() : "—";
}

/**
 * Marks `button` busy while `work` runs: disabled, `aria-busy`, and a label saying what is
 * happening. A press while it is busy does nothing, so one click is one call.
 */
async function whileBusy(button: HTMLButtonElement, label: string, work: () => Promise<void>) {
  if (button.getAttribute("aria-busy") === "true") return;
  const idle = button.textContent;
  button.setAttribute("aria-busy", "true");
  button.disabled = true;
  button.textContent = label;
  try {
    await work();
  } finally {
    button.removeAttribute("aria-busy");
    button.disabled = false;
    button.textContent = idle;
  }
}

/** Clears a form's field errors, then shows the server's next to the right inputs. */
function showFieldErrors(form: string, error: unknown): boolean {
  for (const input of element<HTMLFormElement>(form).querySelectorAll("input")) {
    const message = document.getElementById(`${form}-${input.name}-error`);
    if (!message) continue;
    input.removeAttribute("aria-invalid");
    message.textContent = "";
  }
  if (!(error instanceof ConnectError)) return false;
  let shown = false;
  for (const details of error.findDetails(BadRequestSchema)) {
    for (const violation of details.fieldViolations) {
      const message = document.getElementById(`${form}-${violation.field}-error`);
      const input = document.getElementById(`${form}-${violation.field}`);
      if (!message || !input) continue;
      message.textContent = [message.textContent, violation.description].filter(Boolean).join(" ");
      input.setAttribute("aria-invalid", "true");
      shown = true;
    }
  }
  return shown;
}

function describe(error: unknown): string {
  if (error instanceof ConnectError) {
    if (error.code === Code.Unauthenticated) return "Your session has ended. Please sign in again.";
    if (error.code === Code.Unavailable) return "authd is unavailable right now. Try again shortly.";
    if (error.code === Code.ResourceExhausted) {
      const wait = error.metadata.get("retry-after");
      return wait ? `Too many attempts. Try again in ${wait} s.` : "Too many attempts. Try again later.";
    }
    return error.rawMessage;
  }
  return String(error);
}

const isUnauthenticated = (error: unknown) =>
  error instanceof ConnectError && error.code === Code.Unauthenticated;

function formValue(form: HTMLFormElement, name: string): string {
  return (form.elements.namedItem(name) as HTMLInputElement).value;
}

/** Forgets the tokens and shows the forms again. */
function signedOut() {
  window.clearTimeout(refreshTimer);
  tokens = undefined;
  render(undefined, undefined);
}

/** A failed call while signed in: a refused token means the session is over. */
function failed(error: unknown) {
  if (isUnauthenticated(error)) signedOut();
  say(describe(error), true);
}

async function showMe() {
  const { user } = await client.getMe({}, { headers: bearer() });
  render(user, tokens);
  await loadSessions();
}

function render(user: User | undefined, pair: TokenPair | undefined) {
  const signedIn = Boolean(user && pair);
  for (const id of ["signed-in", "sessions-panel", "change-password"]) element(id).hidden = !signedIn;
  element("signed-out").hidden = signedIn;
  if (!user || !pair) return;
  element("me-username").textContent = user.username;
  element("me-email").textContent = user.email || "—";
  element("me-id").textContent = user.id.toString();
  element("me-created").textContent = when(user.createdAt);
  element("me-expires").textContent = when(pair.accessExpiresAt);
}

/** Exchanges the refresh token for a new pair; concurrent callers share one call. */
function refreshTokens(): Promise<void> {
  refreshing ??= (async () => {
    try {
      const response = await client.refresh({ refreshToken: tokens?.refreshToken ?? "" });
      tokens = response.tokens;
      scheduleRefresh();
      await showMe();
    } finally {
      refreshing = undefined;
    }
  })();
  return refreshing;
}

/** Renews the access token a little before it expires (a fifth of its life, at most 60 s). */
function scheduleRefresh() {
  window.clearTimeout(refreshTimer);
  if (!tokens?.accessExpiresAt) return;
  const remaining = timestampDate(tokens.accessExpiresAt).getTime() - Date.now();
  const lead = Math.min(60_000, Math.max(1_000, remaining / 5));
  refreshTimer = window.setTimeout(async () => {
    try {
      await refreshTokens();
    } catch (error) {
      failed(error);
    }
  }, Math.max(0, remaining - lead));
}

/** "Chrome on Linux" from a user agent; the whole string stays in the title. */
function device(userAgent: string): string {
  if (!userAgent) return "Unknown device";
  const browser = [["Edg/", "Edge"], ["Firefox/", "Firefox"], ["Chrome/", "Chrome"], ["Safari/", "Safari"]]
    .find(([mark]) => userAgent.includes(mark))?.[1];
  const system = [["Android", "Android"], ["iPhone", "iPhone"], ["Windows", "Windows"],
    ["Mac OS X", "macOS"], ["Linux", "Linux"]].find(([mark]) => userAgent.includes(mark))?.[1];
  if (browser && system) return `${browser} on ${system}`;
  return browser ?? system ?? userAgent.split(" ")[0];
}

async function loadSessions() {
  const { sessions } = await client.listSessions({}, { headers: bearer() });
  const list = element<HTMLUListElement>("sessions");
  list.replaceChildren(...sessions.map(sessionItem));
}

function sessionItem(session: SessionInfo): HTMLLIElement {
  const item = document.createElement("li");
  item.dataset.sessionId = session.id;
  if (session.current) item.classList.add("current");
  const text = document.createElement("div");
  const name = document.createElement("div");
  name.className = "session-device";
  name.textContent = device(session.userAgent);
  name.title = session.userAgent;
  if (session.current) {
    const badge = document.createElement("span");
    badge.className = "badge";
    badge.textContent = "This device";
    name.append(badge);
  }
  const meta = document.createElement("div");
  meta.className = "session-meta";
  meta.textContent = [session.ip || "unknown address", `signed in ${when(session.createdAt)}`,
    `last active ${when(session.lastUsedAt)}`].join(" · ");
  text.append(name, meta);
  item.append(text);
  if (!session.current) {
    const end = document.createElement("button");
    end.type = "button";
    end.className = "secondary revoke";
    end.textContent = "Sign out";
    end.setAttribute("aria-label", `Sign out ${name.textContent} (signed in ${when(session.createdAt)})`);
    end.addEventListener("click", () => whileBusy(end, "Signing out…", () => revokeSession(session.id)));
    item.append(end);
  }
  return item;
}

async function revokeSession(sessionId: string) {
  try {
    await client.revokeSession({ sessionId }, { headers: bearer() });
    await loadSessions();
    say("That session is signed out.");
  } catch (error) {
    if (error instanceof ConnectError && error.code === Code.NotFound) {
      await loadSessions().catch(failed);
      say("That session had already ended.");
      return;
    }
    failed(error);
  }
}

const submitButton = (form: HTMLFormElement) =>
  form.querySelector<HTMLButtonElement>("button[type=submit]") as HTMLButtonElement;

element<HTMLFormElement>("register").addEventListener("submit", (event) => {
  event.preventDefault();
  const form = event.currentTarget as HTMLFormElement;
  void whileBusy(submitButton(form), "Signing up…", async () => {
    try {
      const { user } = await client.register({
        username: formValue(form, "username"),
        email: formValue(form, "email"),
        password: formValue(form, "password"),
      });
      showFieldErrors("register", undefined);
      form.reset();
      element<HTMLInputElement>("login-username").value = user?.username ?? "";
      element<HTMLInputElement>("login-password").focus();
      say(`Account created for ${user?.username}. You can sign in now.`);
    } catch (error) {
      const shown = showFieldErrors("register", error);
      say(shown ? "Please correct the highlighted fields." : describe(error), true);
    }
  });
});

/** Which name the sign-in form sends: the username, or the account's email address. */
function signInBy(): "username" | "email" {
  const form = element<HTMLFormElement>("login");
  return (form.elements.namedItem("by") as RadioNodeList).value === "email" ? "email" : "username";
}

for (const choice of document.querySelectorAll<HTMLInputElement>("#login input[name=by]")) {
  choice.addEventListener("change", () => {
    const byEmail = signInBy() === "email";
    element("login-by-username").hidden = byEmail;
    element("login-by-email").hidden = !byEmail;
    element<HTMLInputElement>(byEmail ? "login-email" : "login-username").focus();
  });
}

element<HTMLFormElement>("login").addEventListener("submit", (event) => {
  event.preventDefault();
  const form = event.currentTarget as HTMLFormElement;
  const byEmail = signInBy() === "email";
  void whileBusy(submitButton(form), "Signing in…", async () => {
    try {
      const response = await client.login({
        username: byEmail ? "" : formValue(form, "username"),
        email: byEmail ? formValue(form, "email") : "",
        password: formValue(form, "password"),
      });
      showFieldErrors("login", undefined);
      form.reset();
      element("login-by-username").hidden = false;
      element("login-by-email").hidden = true;
      tokens = response.tokens;
      scheduleRefresh();
      await showMe();
      say(`Signed in as ${response.user?.username}.`);
    } catch (error) {
      const shown = showFieldErrors("login", error);
      const what = byEmail ? "email" : "username";
      say(isUnauthenticated(error) ? `Wrong ${what} or password.`
        : shown ? "Please fill in both fields." : describe(error), true);
    }
  });
});

element<HTMLButtonElement>("refresh").addEventListener("click", (event) => {
  void whileBusy(event.currentTarget as HTMLButtonElement, "Refreshing…", async () => {
    try {
      await refreshTokens();
      say("Tokens refreshed.");
    } catch (error) {
      failed(error);
    }
  });
});

element<HTMLButtonElement>("logout").addEventListener("click", (event) => {
  const ended = tokens;
  void whileBusy(event.currentTarget as HTMLButtonElement, "Signing out…", async () => {
    try {
      await client.logout({ refreshToken: ended?.refreshToken ?? "" });
      signedOut();
      // Prove the session is over: the old access token is now refused.
      try {
        await client.getMe({}, { headers: { authorization: `Bearer ${ended?.accessToken ?? ""}` } });
        say("Signed out, but the old token still works.", true);
      } catch (error) {
        const refused = isUnauthenticated(error);
        say(refused ? "Signed out. Your old access token is no longer accepted." : describe(error), !refused);
      }
    } catch (error) {
      failed(error);
    }
  });
});

element<HTMLButtonElement>("reload-sessions").addEventListener("click", (event) => {
  void whileBusy(event.currentTarget as HTMLButtonElement, "Reloading…", async () => {
    await loadSessions().catch(failed);
  });
});

element<HTMLButtonElement>("revoke-all").addEventListener("click", (event) => {
  void whileBusy(event.currentTarget as HTMLButtonElement, "Signing out everywhere…", async () => {
    try {
      const { sessionsEnded } = await client.revokeAll({}, { headers: bearer() });
      signedOut();
      const count = Number(sessionsEnded);
      say(`Signed out everywhere: ${count} ${count === 1 ? "session" : "sessions"} ended.`);
    } catch (error) {
      failed(error);
    }
  });
});

element<HTMLFormElement>("change-password").addEventListener("submit", (event) => {
  event.preventDefault();
  const form = event.currentTarget as HTMLFormElement;
  void whileBusy(submitButton(form), "Changing…", async () => {
    try {
      const { sessionsEnded } = await client.changePassword(
        {
          currentPassword: formValue(form, "current_password"),
          newPassword: formValue(form, "new_password"),
        },
        { headers: bearer() },
      );
      showFieldErrors("change-password", undefined);
      form.reset();
      await loadSessions();
      const count = Number(sessionsEnded);
      say(`Password changed. ${count} other ${count === 1 ? "session was" : "sessions were"} signed out.`);
    } catch (error) {
      if (showFieldErrors("change-password", error)) {
        say("Please correct the highlighted fields.", true);
      } else {
        failed(error);
      }
    }
  });
});
