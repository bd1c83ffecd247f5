//! `postcall init`: write a starter metric file from a built-in template.
//!
//! Never overwrites: the file is opened with `create_new`, so an existing file (even one
//! created a moment ago) is left untouched and the user is told to pick another path.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, bail};
use clap::builder::PossibleValuesParser;

use crate::spec::{parse_spec, templates};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Where to write the metric file; `-` prints it to stdout instead.
    #[arg(default_value = "metrics.yaml")]
    pub path: PathBuf,
    /// Which starter file to write (see `--list`).
    #[arg(long, short, default_value = templates::DEFAULT_TEMPLATE, value_parser = PossibleValuesParser::new(templates::names()))]
    pub template: String,
    /// List the templates and exit.
    #[arg(long)]
    pub list: bool,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let mut out = std::io::stdout().lock();
    if args.list {
        let width = templates::TEMPLATES.iter().map(|t| t.name.len()).max().unwrap_or(0);
        for t in templates::TEMPLATES {
            let default = if t.name == templates::DEFAULT_TEMPLATE {
                " (default)"
            } else {
                ""
            };
            writeln!(out, "{:width$}  {}{default}", t.name, t.about)?;
        }
        return Ok(ExitCode::SUCCESS);
    }
    let template = templates::find(&args.template).context("unknown template; see `postcall init --list`")?;
    if args.path.as_os_str() == "-" {
        out.write_all(template.text.as_bytes())?;
        return Ok(ExitCode::SUCCESS);
    }
    let shown = args.path.display().to_string();
    let file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&args.path);
    let mut file = match file {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => bail!(
            "{shown} already exists; not overwriting it. Write to another path, e.g. `postcall init metrics-{}.yaml --template {}`, or move the existing file away first",
            template.name,
            template.name
        ),
        Err(e) => {
            return Err(e)
                .with_context(|| format!("cannot create {shown}; check that its directory exists and is writable"));
        }
    };
    file.write_all(template.text.as_bytes())
        .with_context(|| format!("cannot write {shown}"))?;
    let metrics = parse_spec(template.text, template.name)
        .map(|(s, _)| s.metrics.len())
        .unwrap_or(0);
    writeln!(
        out,
        "wrote {shown} from the `{}` template ({metrics} metrics)",
        template.name
    )?;
    writeln!(
        out,
        "next: edit the prompts for your calls, then run `postcall validate {shown}`"
    )?;
    Ok(ExitCode::SUCCESS)
}
