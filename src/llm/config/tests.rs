use super::*;
use std::collections::HashMap;

struct FakeEnv(HashMap<&'static str, &'static str>);
impl Env for FakeEnv {
    fn var(&self, name: &str) -> Option<String> {
        self.0.get(name).map(|v| v.to_string())
    }
}

fn env(pairs: &[(&'static str, &'static str)]) -> FakeEnv {
    FakeEnv(pairs.iter().copied().collect())
}

/// clap puts `POSTCALL_BASE_URL` / `POSTCALL_MODEL` into the command-line layer where
/// the flag is absent (tests/cli checks that part through the binary); here that layer
/// against the file.
#[test]
fn flags_beat_environment_beat_file() {
    let file = LlmSection {
        base_url: Some("http://file/v1".into()),
        model: Some("file-model".into()),
        ..Default::default()
    };
    let from_env = EndpointLayer {
        base_url: Some("http://env/v1".into()),
        model: Some("env-model".into()),
        ..Default::default()
    };
    let cfg = resolve(&from_env, None, &file, &env(&[])).unwrap();
    assert_eq!(
        (cfg.base_url.expose(), cfg.model.as_str()),
        ("http://env/v1", "env-model")
    );
    let flag_and_env = EndpointLayer {
        base_url: Some("http://flag/v1/".into()),
        ..from_env.clone()
    };
    let cfg = resolve(&flag_and_env, None, &file, &env(&[])).unwrap();
    assert_eq!(
        (cfg.base_url.expose(), cfg.model.as_str()),
        ("http://flag/v1", "env-model")
    );
    let cfg = resolve(&EndpointLayer::default(), None, &file, &env(&[])).unwrap();
    assert_eq!(
        (cfg.base_url.expose(), cfg.model.as_str()),
        ("http://file/v1", "file-model")
    );
    // A variable set to the empty string names nothing.
    let blank = EndpointLayer {
        base_url: Some(String::new()),
        ..Default::default()
    };
    assert_eq!(
        resolve(&blank, None, &file, &env(&[])).unwrap().base_url.expose(),
        "http://file/v1"
    );
}

#[test]
fn the_local_server_is_a_layer_above_and_below_the_file() {
    let local = LocalEndpoint {
        base_url: "http://127.0.0.1:4321/v1".into(),
        identity: "local-llama-server|m.gguf|7".into(),
    };
    let file = LlmSection {
        base_url: Some("http://file/v1".into()),
        model: Some("file-model".into()),
        timeout_secs: Some(30),
        ..Default::default()
    };
    let cfg = resolve(&EndpointLayer::default(), Some(&local), &file, &env(&[])).unwrap();
    assert_eq!(cfg.base_url.expose(), local.base_url);
    assert_eq!(cfg.identity, local.identity);
    assert_eq!(cfg.model, crate::llm::local::LOCAL_MODEL_NAME);
    // The file's own settings beat the local defaults; the defaults fill the rest.
    assert_eq!(cfg.timeout, Duration::from_secs(30));
    assert_eq!(cfg.params.max_tokens, Some(MaxTokens::Auto));
    // A request must fit a slot's context with room for the answer.
    assert_eq!(cfg.max_input_tokens, crate::llm::local::MAX_INPUT_TOKENS);
    assert!(cfg.max_input_tokens + 1536 <= u64::from(crate::llm::local::CONTEXT_PER_SLOT));
    let file = LlmSection {
        max_input_tokens: Some(3000),
        ..file
    };
    let cfg = resolve(&EndpointLayer::default(), Some(&local), &file, &env(&[])).unwrap();
    assert_eq!(cfg.max_input_tokens, 3000, "the file's setting wins");
    let flags = EndpointLayer {
        model: Some("named".into()),
        max_tokens: Some(MaxTokens::Limit(64)),
        ..Default::default()
    };
    let cfg = resolve(&flags, Some(&local), &LlmSection::default(), &env(&[])).unwrap();
    assert_eq!(
        (cfg.model.as_str(), cfg.params.max_tokens),
        ("named", Some(MaxTokens::Limit(64)))
    );
    assert_eq!(cfg.timeout, crate::llm::local::DEFAULT_TIMEOUT);
}

#[test]
fn preview_fills_in_what_is_missing_and_keeps_the_rest() {
    let flags = EndpointLayer {
        structured_output: Some(StructuredOutput::Tools),
        max_input_tokens: Some(500),
        ..Default::default()
    };
    let cfg = preview(&flags, None, &LlmSection::default(), &env(&[]));
    assert_eq!(
        (cfg.base_url.expose(), cfg.model.as_str()),
        (PREVIEW_URL, PREVIEW_MODEL)
    );
    assert_eq!(cfg.structured_output, StructuredOutput::Tools);
    assert_eq!(cfg.max_input_tokens, 500);
}

#[test]
fn key_comes_from_the_named_variable_and_never_prints() {
    let file = LlmSection {
        base_url: Some("https://api.openai.com/v1".into()),
        model: Some("gpt-4o-mini".into()),
        api_key_env: Some("MY_KEY".into()),
        ..Default::default()
    };
    let cfg = resolve(
        &EndpointLayer::default(),
        None,
        &file,
        &env(&[("MY_KEY", "sk-secret-123")]),
    )
    .unwrap();
    assert_eq!(cfg.api_key.as_ref().unwrap().expose(), "sk-secret-123");
    assert_eq!(cfg.provider, Provider::OpenAi);
    assert!(!format!("{cfg:?}").contains("sk-secret-123"));
    let err = resolve(&EndpointLayer::default(), None, &file, &env(&[])).unwrap_err();
    assert!(err.to_string().contains("$MY_KEY is not set"), "{err}");
}

#[test]
fn a_key_no_header_can_carry_is_refused_naming_the_variable_and_why() {
    let flags = EndpointLayer {
        base_url: Some("http://127.0.0.1:9/v1".into()),
        model: Some("m".into()),
        api_key_env: Some("MY_KEY".into()),
        ..Default::default()
    };
    for (value, why) in [
        ("sk-abc123\n", "ends with a newline"),
        ("sk-abc123\r\n", "ends with a newline"),
        (" sk-abc123", "starts with a space"),
        ("sk-abc\u{7}123", "control character (U+0007) at character 7"),
        ("sk-\u{a0}abc123", "non-ASCII character (U+00A0) at character 4"),
    ] {
        let err = resolve(&flags, None, &LlmSection::default(), &env(&[("MY_KEY", value)])).unwrap_err();
        let text = err.to_string();
        assert!(matches!(err, ConfigError::BadKey { .. }), "{value:?}: {text}");
        assert!(
            text.starts_with("$MY_KEY holds a value") && text.contains(why),
            "{value:?}: {text}"
        );
        assert!(!text.contains("abc123"), "the message shows the key: {text}");
    }
    let fine = resolve(&flags, None, &LlmSection::default(), &env(&[("MY_KEY", "sk-abc 123")])).unwrap();
    assert_eq!(fine.api_key.unwrap().expose(), "sk-abc 123");
}

#[test]
fn url_credentials_stay_out_of_messages_debug_output_and_the_cache_identity() {
    let flags = EndpointLayer {
        base_url: Some("https://user:hunter2@proxy.example/v1/".into()),
        ..Default::default()
    };
    let err = resolve(&flags, None, &LlmSection::default(), &env(&[])).unwrap_err();
    assert!(matches!(err, ConfigError::NoModel { .. }), "{err}");
    assert!(!err.to_string().contains("hunter2"), "{err}");
    let flags = EndpointLayer {
        model: Some("m".into()),
        ..flags
    };
    let cfg = resolve(&flags, None, &LlmSection::default(), &env(&[])).unwrap();
    assert_eq!(cfg.identity, "https://[REDACTED]@proxy.example/v1|Compatible");
    assert!(!format!("{cfg:?}").contains("hunter2"));
    assert_eq!(
        cfg.completions_url("m").expose(),
        "https://user:hunter2@proxy.example/v1/chat/completions"
    );
    let bad = EndpointLayer {
        base_url: Some("ftp://user:hunter2@proxy.example/v1".into()),
        ..flags
    };
    let err = resolve(&bad, None, &LlmSection::default(), &env(&[])).unwrap_err();
    assert!(err.to_string().contains("is not an http(s) URL"), "{err}");
    assert!(!err.to_string().contains("hunter2"), "{err}");
}

#[test]
fn the_cache_identity_of_a_plain_url_is_what_it_always_was() {
    // Existing caches stay valid: only URLs with credentials changed identity.
    let flags = EndpointLayer {
        base_url: Some("http://127.0.0.1:8080/v1/".into()),
        model: Some("m".into()),
        ..Default::default()
    };
    let cfg = resolve(&flags, None, &LlmSection::default(), &env(&[])).unwrap();
    assert_eq!(cfg.identity, "http://127.0.0.1:8080/v1|Compatible");
}

#[test]
fn nothing_configured_names_both_ways_forward() {
    let err = resolve(&EndpointLayer::default(), None, &LlmSection::default(), &env(&[])).unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("--base-url") && text.contains("install-local-model.sh"),
        "{text}"
    );
}

#[test]
fn azure_uses_the_deployment_url() {
    let flags = EndpointLayer {
        base_url: Some("https://acme.openai.azure.com".into()),
        model: Some("gpt4o-prod".into()),
        azure_api_version: Some("2024-10-21".into()),
        ..Default::default()
    };
    let cfg = resolve(
        &flags,
        None,
        &LlmSection::default(),
        &env(&[("OPENAI_API_KEY", "k-1234")]),
    )
    .unwrap();
    assert_eq!(
        cfg.completions_url(&cfg.model).expose(),
        "https://acme.openai.azure.com/openai/deployments/gpt4o-prod/chat/completions?api-version=2024-10-21"
    );
}

#[test]
fn strict_endpoints_get_the_strict_dialect_and_the_rest_a_grammar() {
    let cases = [
        ("https://api.openai.com/v1", None, SchemaDialect::Strict),
        (
            "https://acme.openai.azure.com",
            Some("2024-10-21"),
            SchemaDialect::Strict,
        ),
        ("https://openrouter.ai/api/v1", None, SchemaDialect::Strict),
        ("http://localhost:8000/v1", None, SchemaDialect::Grammar),
        ("http://localhost:11434/v1", None, SchemaDialect::Grammar),
    ];
    for (url, azure, want) in cases {
        let flags = EndpointLayer {
            base_url: Some(url.into()),
            model: Some("m".into()),
            azure_api_version: azure.map(String::from),
            ..Default::default()
        };
        let cfg = resolve(&flags, None, &LlmSection::default(), &env(&[("OPENAI_API_KEY", "k-1")])).unwrap();
        assert_eq!(cfg.schema_dialect, want, "{url}");
    }
    // The flag (or `llm.schema_dialect`) wins over the guess, e.g. for a proxy.
    let flags = EndpointLayer {
        base_url: Some("http://localhost:4000/v1".into()),
        model: Some("m".into()),
        schema_dialect: Some(DialectChoice::Strict),
        ..Default::default()
    };
    let cfg = resolve(&flags, None, &LlmSection::default(), &env(&[])).unwrap();
    assert_eq!(cfg.schema_dialect, SchemaDialect::Strict);
}

#[test]
fn the_local_server_gets_anti_loop_sampling_and_prompt_caching_under_the_file_s_extra_body() {
    let local = LocalEndpoint {
        base_url: "http://127.0.0.1:4321/v1".into(),
        identity: "local-llama-server|m.gguf|7".into(),
    };
    let mut extra = Map::new();
    extra.insert("repeat_penalty".into(), serde_json::json!(1.3));
    let file = LlmSection {
        extra_body: Some(extra),
        ..Default::default()
    };
    let cfg = resolve(&EndpointLayer::default(), Some(&local), &file, &env(&[])).unwrap();
    let body = &cfg.params.extra_body;
    assert_eq!(body["repeat_penalty"], 1.3, "the file's setting wins");
    assert_eq!(body["cache_prompt"], true);
    assert!(body["dry_multiplier"].as_f64().unwrap() > 0.0);
    assert_eq!(cfg.schema_dialect, SchemaDialect::Grammar);
    // An endpoint postcall does not manage gets none of it.
    let flags = EndpointLayer {
        base_url: Some("http://localhost:8080/v1".into()),
        model: Some("m".into()),
        ..Default::default()
    };
    let cfg = resolve(&flags, None, &LlmSection::default(), &env(&[])).unwrap();
    assert!(cfg.params.extra_body.is_empty());
}
