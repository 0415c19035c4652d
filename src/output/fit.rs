//! Lines fitted to the terminal: prose wraps at word boundaries, commands continue with ` \`.

/// The width of the terminal on stderr in columns (80 when it cannot be told).
pub(crate) fn terminal_width() -> usize {
    match console::Term::stderr().size_checked() {
        Some((_, cols)) if cols > 0 => cols as usize,
        _ => 80,
    }
}

/// Each line of `text` within `width` columns; see [`super::Ui::fit`].
pub(crate) fn fit_lines(text: &str, width: usize) -> String {
    text.split('\n')
        .flat_map(|line| fit_line(line, width.max(20)))
        .collect::<Vec<_>>()
        .join("\n")
}

fn fit_line(line: &str, width: usize) -> Vec<String> {
    if console::measure_text_width(line) <= width {
        return vec![line.to_string()];
    }
    let indent: String = line.chars().take_while(|c| *c == ' ').collect();
    let body = &line[indent.len()..];
    let command = ["serverless-s3-setup ", "aws ", "ticloud "]
        .iter()
        .any(|c| body.starts_with(c) || body.starts_with(&format!("fix: {c}")));
    if command {
        continue_command(&indent, body, width)
    } else {
        wrap_words(&indent, &format!("{indent}  "), body, width)
    }
}

/// Words in lines of `width` columns, the first line indented by `first`, the rest by `rest`
/// (a word wider than that stands on its own line).
pub(crate) fn wrap_words(first: &str, rest: &str, body: &str, width: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = first.to_string();
    let more = rest.to_string();
    for word in body.split(' ') {
        let fresh = line.trim().is_empty();
        if !fresh
            && console::measure_text_width(&line) + 1 + console::measure_text_width(word) > width
        {
            lines.push(std::mem::replace(&mut line, more.clone()));
        } else if !fresh {
            line.push(' ');
        }
        line.push_str(word);
    }
    lines.push(line);
    lines
}

/// A command broken before its `--` options, each line but the last ending in ` \`.
fn continue_command(indent: &str, body: &str, width: usize) -> Vec<String> {
    let mut parts = body.split(" --");
    let mut lines = vec![format!("{indent}{}", parts.next().unwrap_or_default())];
    let more = format!("{indent}    ");
    for part in parts {
        let option = format!("--{part}");
        let last = lines.last_mut().expect("one line at least");
        // Room for " OPTION \".
        if console::measure_text_width(last) + 1 + console::measure_text_width(&option) + 2 > width
        {
            last.push_str(" \\");
            lines.push(format!("{more}{option}"));
        } else {
            last.push(' ');
            last.push_str(&option);
        }
    }
    lines
}
