//! Where an admin subcommand gets a new password: all of standard input
//! (`--password-stdin`, for scripts), or a prompt on the terminal with echo off, asked twice.
//! Never a flag: a command line is visible to every local user, and shells keep history.
//!
//! Echo is turned off with `termios` through `rustix` (already a dependency for process
//! limits), and back on whatever happens, before the answer is looked at. The text is held
//! in a [`Zeroizing`] buffer so it is wiped once hashed.

use std::io::{BufRead, IsTerminal, Read, Write};

use rustix::termios::{LocalModes, OptionalActions, tcgetattr, tcsetattr};
use zeroize::Zeroizing;

use crate::cli::PasswordArgs;

/// The new password, as the operator chose to give it.
pub fn new_password(args: PasswordArgs) -> Result<Zeroizing<String>, String> {
    let stdin = std::io::stdin();
    if args.password_stdin {
        let mut text = Zeroizing::new(String::new());
        stdin
            .lock()
            .read_to_string(&mut text)
            .map_err(|e| format!("reading the password from standard input: {e}"))?;
        strip_one_newline(&mut text);
        return Ok(text);
    }
    if !stdin.is_terminal() {
        return Err(
            "no password: pipe it in with --password-stdin, or run in a terminal \
                    to be asked for it"
                .into(),
        );
    }
    let first = prompt("Password: ")?;
    let second = prompt("Password (again): ")?;
    if *first != *second {
        return Err("the two passwords differ; nothing was changed".into());
    }
    Ok(first)
}

/// Asks on standard error and reads one line from the terminal without echoing it. Echo
/// goes off before the question is shown, so nothing typed after it can be echoed.
fn prompt(question: &str) -> Result<Zeroizing<String>, String> {
    let stdin = std::io::stdin();
    let mut stderr = std::io::stderr();
    let saved = tcgetattr(&stdin).map_err(|e| format!("reading the terminal's settings: {e}"))?;
    let mut quiet = saved.clone();
    quiet.local_modes.remove(LocalModes::ECHO);
    tcsetattr(&stdin, OptionalActions::Now, &quiet)
        .map_err(|e| format!("turning the terminal's echo off: {e}"))?;
    let _ = write!(stderr, "{question}");
    let _ = stderr.flush();
    let mut line = Zeroizing::new(String::new());
    let read = stdin.lock().read_line(&mut line);
    let restored = tcsetattr(&stdin, OptionalActions::Now, &saved);
    // The Enter the operator typed was not echoed either.
    let _ = writeln!(stderr);
    read.map_err(|e| format!("reading the password: {e}"))?;
    restored.map_err(|e| format!("turning the terminal's echo back on: {e}"))?;
    strip_one_newline(&mut line);
    Ok(line)
}

/// `secret\n` and `secret\r\n` are `secret`; anything else is kept as typed.
fn strip_one_newline(text: &mut String) {
    if text.ends_with('\n') {
        text.pop();
        if text.ends_with('\r') {
            text.pop();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_trailing_newline_is_dropped_and_nothing_else() {
        for (given, kept) in [
            ("secret\n", "secret"),
            ("secret\r\n", "secret"),
            ("secret", "secret"),
            ("secret\n\n", "secret\n"),
            (" secret ", " secret "),
        ] {
            let mut text = given.to_string();
            strip_one_newline(&mut text);
            assert_eq!(text, kept, "{given:?}");
        }
    }
}
