//! The README's ```sh blocks and the marker on the line before each: which to run, which
//! starts the server, which to leave (and why).

#[derive(Debug, Clone, PartialEq)]
pub enum Kind {
    Run,
    Serve,
    Skip(String),
}

#[derive(Debug)]
pub struct Block {
    /// The line of its opening fence, counting from 1.
    pub line: usize,
    pub kind: Kind,
    pub text: String,
}

impl Block {
    pub fn first_command(&self) -> &str {
        self.text.lines().next().unwrap_or_default()
    }
}

/// Every ```sh block of the README with the marker before it; an error for a marker that
/// is not right before a ```sh block, or says neither `serve` nor `skip (why)`, and for a
/// shell block fenced under another name.
pub fn shell_blocks(readme: &str) -> Result<Vec<Block>, String> {
    let lines: Vec<&str> = readme.lines().collect();
    let mut blocks = Vec::new();
    let mut marked = None;
    let mut index = 0;
    while index < lines.len() {
        let line = lines[index].trim_end();
        if let Some(marker) = line.strip_prefix("<!-- readme-test:") {
            let marker = marker.strip_suffix("-->").map(str::trim).ok_or_else(|| {
                format!("README.md:{}: the marker does not end with -->", index + 1)
            })?;
            if lines.get(index + 1).map(|next| next.trim_end()) != Some("```sh") {
                return Err(format!(
                    "README.md:{}: the marker is not on the line before a ```sh block",
                    index + 1
                ));
            }
            let reason = marker
                .strip_prefix("skip (")
                .and_then(|rest| rest.strip_suffix(')'))
                .filter(|reason| !reason.trim().is_empty());
            marked = Some(match (marker, reason) {
                ("serve", _) => Kind::Serve,
                (_, Some(reason)) => Kind::Skip(reason.to_string()),
                _ => {
                    return Err(format!(
                        "README.md:{}: `{marker}` is neither `serve` nor `skip (why)`",
                        index + 1
                    ));
                }
            });
        }
        if matches!(line, "```bash" | "```shell" | "```console" | "```zsh") {
            return Err(format!(
                "README.md:{}: fence shell examples as ```sh, so this test runs them",
                index + 1
            ));
        }
        if line == "```sh" {
            let kind = marked.take().unwrap_or(Kind::Run);
            let start = index + 1;
            let end = (start..lines.len())
                .find(|&i| lines[i].trim_end() == "```")
                .ok_or_else(|| format!("README.md:{}: the block never closes", index + 1))?;
            blocks.push(Block {
                line: index + 1,
                kind,
                text: lines[start..end].join("\n") + "\n",
            });
            index = end;
        }
        index += 1;
    }
    Ok(blocks)
}

/// A serve block's one command: the variables before `cargo run --release` and the
/// arguments after its `--`.
pub struct Serve {
    pub env: Vec<(String, String)>,
    pub args: Vec<String>,
}

pub fn serve_command(block: &Block) -> Result<Serve, String> {
    let joined = block
        .text
        .lines()
        .filter(|line| !line.trim_start().starts_with('#'))
        .collect::<Vec<_>>()
        .join("\n")
        .replace("\\\n", " ");
    let command = joined.split(" #").next().unwrap_or_default();
    let words: Vec<&str> = command.split_whitespace().collect();
    let start = words
        .windows(3)
        .position(|window| window == ["cargo", "run", "--release"])
        .ok_or_else(|| {
            format!(
                "README.md:{}: a serve block is `NAME=VALUE … cargo run --release [-- ARGS]`",
                block.line
            )
        })?;
    let mut env = Vec::new();
    for word in &words[..start] {
        let (name, value) = word.split_once('=').ok_or_else(|| {
            format!(
                "README.md:{}: `{word}` before cargo is not NAME=VALUE",
                block.line
            )
        })?;
        env.push((name.to_string(), value.to_string()));
    }
    let args = match &words[start + 3..] {
        [] => Vec::new(),
        ["--", args @ ..] => args.iter().map(|arg| arg.to_string()).collect(),
        other => {
            return Err(format!(
                "README.md:{}: `{}` after cargo run --release, not `-- ARGS`",
                block.line,
                other.join(" ")
            ));
        }
    };
    Ok(Serve { env, args })
}

#[test]
fn the_markers_are_checked() {
    let unmarked = "```sh\necho hi\n```\n";
    let blocks = shell_blocks(unmarked).unwrap();
    assert_eq!(blocks[0].kind, Kind::Run);
    assert_eq!(blocks[0].text, "echo hi\n");
    let skipped = shell_blocks("<!-- readme-test: skip (needs Docker) -->\n```sh\nx\n```\n");
    assert_eq!(skipped.unwrap()[0].kind, Kind::Skip("needs Docker".into()));
    for wrong in [
        "<!-- readme-test: skip -->\n```sh\nx\n```\n",
        "<!-- readme-test: skip (why) -->\n\n```sh\nx\n```\n",
        "<!-- readme-test: maybe -->\n```sh\nx\n```\n",
        "```bash\nx\n```\n",
    ] {
        assert!(shell_blocks(wrong).is_err(), "{wrong:?} passed");
    }
}
