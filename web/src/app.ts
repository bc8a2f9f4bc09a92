// authd's demo page: every action is a grpc-web call to auth.v1.AuthService on this origin.
// Tokens live in memory only (never localStorage), so closing the tab forgets them.
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createGrpcWebTransport } from "@connectrpc/connect-web";
import { timestampDate } from "@bufbuild/protobuf/wkt";
import { AuthService, type TokenPair, type User } from "./gen/auth/v1/auth_pb.js";
import { BadRequestSchema } from "./gen/google/rpc/error_details_pb.js";

const client = createClient(
  AuthService,
  createGrpcWebTransport({ baseUrl: window.location.origin }),
);

let tokens: TokenPair | undefined;

const element = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const status = element<HTMLParagraphElement>("status");

function say(message: string, isError = false) {
  status.textContent = message;
  status.classList.toggle("error", isError);
}

function bearer(): HeadersInit {
  return { authorization: `Bearer ${tokens?.accessToken ?? ""}` };
}

/** Clears a form's field errors, then shows the server's next to the right inputs. */
function showFieldErrors(form: string, error: unknown): boolean {
  for (const input of element<HTMLFormElement>(form).querySelectorAll("input")) {
    input.removeAttribute("aria-invalid");
    element(`${form}-${input.name}-error`).textContent = "";
  }
  if (!(error instanceof ConnectError)) return false;
  let shown = false;
  for (const details of error.findDetails(BadRequestSchema)) {
    for (const violation of details.fieldViolations) {
      const message = element(`${form}-${violation.field}-error`);
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
    return error.rawMessage;
  }
  return String(error);
}

function formValue(form: HTMLFormElement, name: string): string {
  return (form.elements.namedItem(name) as HTMLInputElement).value;
}

async function showMe() {
  const { user } = await client.getMe({}, { headers: bearer() });
  render(user, tokens);
}

function render(user: User | undefined, pair: TokenPair | undefined) {
  const signedIn = Boolean(user && pair);
  element("signed-in").hidden = !signedIn;
  element("signed-out").hidden = signedIn;
  if (!user || !pair) return;
  element("me-username").textContent = user.username;
  element("me-email").textContent = user.email || "—";
  element("me-id").textContent = user.id.toString();
  element("me-created").textContent = user.createdAt ? timestampDate(user.createdAt).toLocaleString() : "—";
  element("me-expires").textContent = pair.accessExpiresAt
    ? timestampDate(pair.accessExpiresAt).toLocaleString()
    : "—";
}

element<HTMLFormElement>("register").addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = event.currentTarget as HTMLFormElement;
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

element<HTMLFormElement>("login").addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = event.currentTarget as HTMLFormElement;
  try {
    const response = await client.login({
      username: formValue(form, "username"),
      password: formValue(form, "password"),
    });
    showFieldErrors("login", undefined);
    form.reset();
    tokens = response.tokens;
    await showMe();
    say(`Signed in as ${response.user?.username}.`);
  } catch (error) {
    const shown = showFieldErrors("login", error);
    const wrong = error instanceof ConnectError && error.code === Code.Unauthenticated;
    say(wrong ? "Wrong username or password." : shown ? "Please fill in both fields." : describe(error), true);
  }
});

element("refresh").addEventListener("click", async () => {
  try {
    const response = await client.refresh({ refreshToken: tokens?.refreshToken ?? "" });
    tokens = response.tokens;
    await showMe();
    say("Tokens refreshed.");
  } catch (error) {
    say(describe(error), true);
  }
});

element("logout").addEventListener("click", async () => {
  const ended = tokens;
  try {
    await client.logout({ refreshToken: ended?.refreshToken ?? "" });
    tokens = undefined;
    render(undefined, undefined);
    // Prove the session is over: the old access token is now refused.
    try {
      await client.getMe({}, { headers: { authorization: `Bearer ${ended?.accessToken ?? ""}` } });
      say("Signed out, but the old token still works.", true);
    } catch (error) {
      const refused = error instanceof ConnectError && error.code === Code.Unauthenticated;
      say(refused ? "Signed out. Your old access token is no longer accepted." : describe(error), !refused);
    }
  } catch (error) {
    say(describe(error), true);
  }
});
