//! The HTML pages of the authorize endpoint: the login form and the error page.

use html_escape::{encode_double_quoted_attribute, encode_text};

/// Shown above the form after a wrong username or password (Salesforce's wording).
pub const BAD_CREDENTIALS: &str = "Please check your username and password. If you still can't log in, contact your Salesforce administrator.";

/// The login form. `params` are the original authorize parameters, carried as hidden fields so the
/// POST can finish the flow; `username` prefills the username box (from `login_hint` or a retry).
pub fn login_form(params: &[(String, String)], username: &str, error: Option<&str>) -> String {
    let hidden: String = params
        .iter()
        .filter(|(name, _)| !["username", "password", "deny"].contains(&name.as_str()))
        .map(|(name, value)| {
            format!(
                "    <input type=\"hidden\" name=\"{}\" value=\"{}\">\n",
                encode_double_quoted_attribute(name),
                encode_double_quoted_attribute(value)
            )
        })
        .collect();
    let error = error
        .map(|text| {
            format!(
                "  <div id=\"error\" class=\"loginError\" role=\"alert\">{}</div>\n",
                encode_text(text)
            )
        })
        .unwrap_or_default();
    format!(
        r#"<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>Login | Salesforce</title>
  <style>
    body {{ font-family: sans-serif; background: #f3f3f3; display: flex; justify-content: center; padding-top: 10vh; }}
    form {{ background: #fff; padding: 2rem; border-radius: 6px; width: 20rem; }}
    label, input {{ display: block; width: 100%; margin-bottom: .75rem; box-sizing: border-box; }}
    input[type=text], input[type=password] {{ padding: .5rem; }}
    .loginError {{ color: #c23934; margin-bottom: 1rem; }}
    button {{ width: 100%; padding: .6rem; background: #0070d2; color: #fff; border: 0; border-radius: 4px; }}
  </style>
</head>
<body>
  <form id="login_form" name="login" method="POST" action="/services/oauth2/authorize">
  <h1>sfsim</h1>
{error}    <label for="username">Username</label>
    <input type="text" id="username" name="username" value="{username}" autocomplete="username">
    <label for="password">Password</label>
    <input type="password" id="password" name="password" autocomplete="current-password">
{hidden}    <button type="submit" id="Login" name="Login">Log In</button>
    <button type="submit" id="Deny" name="deny" value="1" formnovalidate>Deny</button>
  </form>
</body>
</html>
"#,
        username = encode_double_quoted_attribute(username),
    )
}

/// Shown instead of redirecting when the redirect URI cannot be trusted.
pub fn error_page(error: &str, description: &str) -> String {
    format!(
        r#"<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>Error | Salesforce</title></head>
<body>
  <h1>Remote Access Application Error</h1>
  <p id="error">error={}&amp;error_description={}</p>
</body>
</html>
"#,
        encode_text(error),
        encode_text(description)
    )
}
