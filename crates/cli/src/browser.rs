//! Opening the system browser the way `xdg-open` honours `$BROWSER`: a `:`-separated list of
//! commands, each run with the URL (in place of `%s`, or appended). Spawned, never waited for.

use std::process::{Command, Stdio};

/// Runs the first `$BROWSER` command that starts. `false` when none is set or none starts.
pub(crate) fn open(browser_var: &str, url: &str) -> bool {
    for command in browser_var
        .split(':')
        .map(str::trim)
        .filter(|c| !c.is_empty())
    {
        let mut words: Vec<String> = command.split_whitespace().map(String::from).collect();
        if words.iter().any(|w| w.contains("%s")) {
            for word in &mut words {
                *word = word.replace("%s", url);
            }
        } else {
            words.push(url.to_owned());
        }
        let spawned = Command::new(&words[0])
            .args(&words[1..])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .spawn();
        match spawned {
            Ok(_child) => return true,
            Err(e) => {
                tracing::warn!(command = %words[0], error = %e, "could not start the browser")
            }
        }
    }
    false
}
