//! Which endpoint a run talks to: a managed local server, or the one the settings name.
//! Either way the settings go through `llm::config`'s one precedence chain. Shared by
//! `run` and `prompt`, so `prompt` shows the body `run` would send.

use std::path::{Path, PathBuf};

use crate::llm::EndpointConfig;
use crate::llm::config::{self, EndpointLayer, ProcessEnv};
use crate::llm::local::{self, LocalLaunch};
use crate::spec::Spec;
use crate::terminal::eprintln;

/// The endpoint a run talks to: its checked settings, and the local server to start first
/// when postcall manages one (its address is already in `config`).
#[derive(Debug, Clone)]
pub struct Endpoint {
    pub config: EndpointConfig,
    pub local: Option<LocalLaunch>,
}

/// Chooses and checks the endpoint. Cheap: nothing is started and nothing is sent.
pub fn resolve(flags: &EndpointLayer, local_model: Option<&Path>, spec: &Spec) -> anyhow::Result<Endpoint> {
    if local_model.is_some() && flags.names_a_base_url() {
        // clap cannot tell `--base-url` from `POSTCALL_BASE_URL`, so this is a note, not a
        // usage error: a URL exported in the shell must not block `--local-model`.
        eprintln!("note: --local-model wins over the base URL from --base-url or POSTCALL_BASE_URL");
    }
    let local = local_choice(flags, local_model, spec)
        .map(|(server, model)| {
            let threads = spec.llm.local.as_ref().and_then(|l| l.threads).map(|t| t.get());
            LocalLaunch::prepare(&server, &model, threads)
        })
        .transpose()?;
    let address = local.as_ref().map(LocalLaunch::endpoint);
    let config = config::resolve(flags, address.as_ref(), &spec.llm, &ProcessEnv)?;
    Ok(Endpoint { config, local })
}

/// What requests would carry when [`resolve`] fails: the same chain, placeholders for
/// what is missing.
pub fn preview(flags: &EndpointLayer, spec: &Spec) -> EndpointConfig {
    config::preview(flags, None, &spec.llm, &ProcessEnv)
}

/// The local server and model to run, when the run should use one: asked for with
/// `--local-model` or `llm.local`, or by default when no endpoint is named anywhere (a
/// flag, `POSTCALL_BASE_URL` — clap reads it into `flags` — or `llm.base_url`) and the
/// install script has been run.
fn local_choice(flags: &EndpointLayer, local_model: Option<&Path>, spec: &Spec) -> Option<(PathBuf, PathBuf)> {
    let installed = local::installed();
    let configured = spec.llm.local.as_ref();
    let explicit_url = flags.names_a_base_url() || spec.llm.base_url.is_some();
    if local_model.is_none() && (explicit_url || (configured.is_none() && installed.is_none())) {
        return None;
    }
    let default_server = || {
        installed
            .as_ref()
            .map(|(s, _)| s.clone())
            .or_else(|| local::install_dir().map(|d| d.join("bin/llama-server")))
    };
    let server = configured
        .and_then(|l| l.server.clone())
        .map(PathBuf::from)
        .or_else(default_server)?;
    let model = local_model
        .map(Path::to_path_buf)
        .or_else(|| configured.and_then(|l| l.model.clone()).map(PathBuf::from))
        .or_else(|| installed.as_ref().map(|(_, m)| m.clone()))?;
    Some((server, model))
}
