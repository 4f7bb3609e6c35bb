//! Running commands: each is printed before it runs, and a failure names the command.

use std::ffi::OsStr;
use std::path::Path;
use std::process::{Child, Command, Stdio};

pub fn command(program: &str, args: &[&str]) -> Command {
    let mut command = Command::new(program);
    command.args(args);
    command
}

fn describe(command: &Command) -> String {
    let mut text = command.get_program().to_string_lossy().into_owned();
    for arg in command.get_args() {
        text.push(' ');
        text.push_str(&arg.to_string_lossy());
    }
    text
}

/// Runs to completion; an error if it could not start or exited non-zero.
pub fn run(command: &mut Command) -> Result<(), String> {
    let text = describe(command);
    println!("$ {text}");
    let status = command
        .status()
        .map_err(|e| format!("could not start `{text}`: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("`{text}` failed ({status})"))
    }
}

/// Runs to completion with its output captured: only the command line is printed, and its
/// output only when it fails (then it is part of the error).
pub fn run_quiet(command: &mut Command) -> Result<(), String> {
    let text = describe(command);
    println!("$ {text}");
    let out = command
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("could not start `{text}`: {e}"))?;
    if out.status.success() {
        return Ok(());
    }
    let mut said = String::from_utf8_lossy(&out.stdout).into_owned();
    said.push_str(&String::from_utf8_lossy(&out.stderr));
    Err(format!(
        "`{text}` failed ({}):\n{}",
        out.status,
        said.trim_end()
    ))
}

/// Whether this process runs as root (`id -u` is 0).
pub fn is_root() -> bool {
    output("id", &["-u"]).is_some_and(|uid| uid.trim() == "0")
}

/// Captured stdout of a successful command.
pub fn output(program: &str, args: &[&str]) -> Option<String> {
    let out = Command::new(program).args(args).output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Starts a server whose first stdout line is `<name> listening on http://HOST:PORT`; returns
/// the child and that URL. The rest of its stdout keeps streaming to ours.
pub fn spawn_server(command: &mut Command, name: &str) -> Result<(Child, String), String> {
    use std::io::{BufRead, BufReader};
    let text = describe(command);
    println!("$ {text}");
    let mut child = command
        .stdout(Stdio::piped())
        .spawn()
        .map_err(|e| format!("could not start {name}: {e}"))?;
    let stdout = child.stdout.take().expect("piped stdout");
    let mut lines = BufReader::new(stdout).lines();
    let first = match lines.next() {
        Some(Ok(line)) => line,
        _ => {
            let status = child.wait().map(|s| s.to_string()).unwrap_or_default();
            return Err(format!("{name} exited before it was listening ({status})"));
        }
    };
    let prefix = format!("{name} listening on ");
    let url = first
        .strip_prefix(&prefix)
        .ok_or_else(|| format!("{name} said {first:?} instead of {prefix:?}…"))?
        .trim()
        .to_string();
    std::thread::spawn(move || {
        for line in lines.map_while(Result::ok) {
            println!("{line}");
        }
    });
    Ok((child, url))
}

pub fn in_dir<'a>(command: &'a mut Command, dir: &Path) -> &'a mut Command {
    command.current_dir(dir)
}

pub fn has_program(program: impl AsRef<OsStr>) -> bool {
    find_program(program).is_some()
}

/// The first `program` on PATH, as a shell would find it.
pub fn find_program(program: impl AsRef<OsStr>) -> Option<std::path::PathBuf> {
    let program = program.as_ref();
    let paths = std::env::var_os("PATH")?;
    std::env::split_paths(&paths)
        .map(|dir| dir.join(program))
        .find(|path| path.is_file())
}
