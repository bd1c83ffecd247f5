//! AWS named profiles: the keys `aws configure` writes to `~/.aws/credentials`, which
//! object_store does not read (its chain is the environment, web identity, the container's
//! and the instance's role).
//!
//! The order is every AWS SDK's: keys in the environment first, then the profile
//! (`AWS_PROFILE`, else `default`), then the roles. A profile gives its keys as written,
//! or the command its `credential_process` names (see `credential_process`). A profile
//! that assumes a role or signs in with SSO needs the AWS SDK's machinery to follow;
//! postcall says so and how to hand it the keys instead (the AWS CLI as the profile's
//! `credential_process`, or its keys exported), rather than going on to the instance role
//! and failing somewhere less clear.

use std::collections::HashMap;
use std::path::PathBuf;

use super::credential_process::CredentialProcess;

/// What a profile gives the store's builder.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Found {
    pub credentials: Option<Credentials>,
    /// The profile's region, when the environment names none.
    pub region: Option<String>,
}

/// Where a profile's keys come from.
#[derive(Debug, PartialEq, Eq)]
pub enum Credentials {
    /// Written in the profile.
    Keys(Keys),
    /// Printed by the command it names.
    Process(CredentialProcess),
}

#[derive(PartialEq, Eq)]
pub struct Keys {
    pub access_key_id: String,
    pub secret_access_key: String,
    pub session_token: Option<String>,
}

impl std::fmt::Debug for Keys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the secret, even in a debug print.
        f.debug_struct("Keys")
            .field("access_key_id", &self.access_key_id)
            .finish_non_exhaustive()
    }
}

/// The profile the environment `var` points at, read from its files; an error says what
/// is wrong with it and what to do.
pub fn find(var: &dyn Fn(&str) -> Option<String>) -> Result<Found, String> {
    let var = |name: &str| var(name).filter(|v| !v.trim().is_empty());
    let region = || var("AWS_REGION").or_else(|| var("AWS_DEFAULT_REGION"));
    if var("AWS_ACCESS_KEY_ID").is_some() {
        return Ok(Found::default());
    }
    let named = var("AWS_PROFILE");
    let role_in_env = [
        "AWS_WEB_IDENTITY_TOKEN_FILE",
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    ]
    .iter()
    .any(|name| var(name).is_some());
    if named.is_none() && role_in_env {
        // A pod's or a task's role, and no profile asked for: object_store's chain has it.
        return Ok(Found::default());
    }
    let name = named.clone().unwrap_or_else(|| "default".to_string());
    let home = var("HOME").map(PathBuf::from);
    let file = |override_var: &str, under_home: &str| {
        var(override_var)
            .map(PathBuf::from)
            .or_else(|| home.as_ref().map(|h| h.join(".aws").join(under_home)))
    };
    let credentials_file = file("AWS_SHARED_CREDENTIALS_FILE", "credentials");
    let config_file = file("AWS_CONFIG_FILE", "config");
    let credentials = section(credentials_file.as_ref(), &name)?;
    // The config file names a profile `[profile NAME]`, but for `[default]`.
    let config_section = if name == "default" {
        name.clone()
    } else {
        format!("profile {name}")
    };
    let config = section(config_file.as_ref(), &config_section)?;
    let shown = |path: &Option<PathBuf>| {
        path.as_ref()
            .map_or("(no HOME)".to_string(), |p| p.display().to_string())
    };
    if credentials.is_none() && config.is_none() {
        return match named {
            Some(_) => Err(format!(
                "AWS_PROFILE={name}: no such profile in {} or {}; check the name, or unset AWS_PROFILE",
                shown(&credentials_file),
                shown(&config_file)
            )),
            None => Ok(Found::default()),
        };
    }
    let (credentials, config) = (credentials.unwrap_or_default(), config.unwrap_or_default());
    let get = |key: &str| credentials.get(key).or_else(|| config.get(key)).cloned();
    let profile_region = region().is_none().then(|| config.get("region").cloned()).flatten();
    if let (Some(access_key_id), Some(secret_access_key)) = (get("aws_access_key_id"), get("aws_secret_access_key")) {
        return Ok(Found {
            credentials: Some(Credentials::Keys(Keys {
                access_key_id,
                secret_access_key,
                session_token: get("aws_session_token"),
            })),
            region: profile_region,
        });
    }
    let how = if get("role_arn").is_some() {
        Some("assumes a role (role_arn)")
    } else if get("sso_session").is_some() || get("sso_start_url").is_some() {
        Some("signs in with SSO")
    } else {
        None
    };
    if how.is_none()
        && let Some(line) = get("credential_process")
    {
        let file = if credentials.contains_key("credential_process") {
            &credentials_file
        } else {
            &config_file
        };
        let file = file.clone().unwrap_or_default();
        return Ok(Found {
            credentials: Some(Credentials::Process(CredentialProcess::new(&name, file, &line)?)),
            region: profile_region,
        });
    }
    match (how, &named) {
        (Some(how), _) => Err(format!(
            "the AWS profile `{name}` {how}, which postcall does not do itself: let the AWS CLI do it, with a \
             profile of its own in {} (`[profile {name}-cli]` with `credential_process = aws configure \
             export-credentials --profile {name} --format process`, then AWS_PROFILE={name}-cli), or export \
             its keys first, with eval \"$(aws configure export-credentials --profile {name} --format env)\"",
            shown(&config_file)
        )),
        (None, Some(_)) => Err(format!(
            "the AWS profile `{name}` has no aws_access_key_id and aws_secret_access_key (in {} or {})",
            shown(&credentials_file),
            shown(&config_file)
        )),
        // `[default]` with only a region, say: the roles may still give the keys.
        (None, None) => Ok(Found {
            credentials: None,
            region: profile_region,
        }),
    }
}

/// The keys of section `name` of the INI file at `path`; `None` when there is no such file
/// or section.
fn section(path: Option<&PathBuf>, name: &str) -> Result<Option<HashMap<String, String>>, String> {
    let Some(path) = path.filter(|p| p.is_file()) else {
        return Ok(None);
    };
    // Values as written, as the AWS SDKs read them: no quotes taken off, no `\` escapes, so a
    // quoted `credential_process` path and a Windows path reach the command as the user wrote them.
    let raw = ini::ParseOption {
        enabled_quote: false,
        enabled_escape: false,
        ..ini::ParseOption::default()
    };
    let ini = ini::Ini::load_from_file_opt(path, raw).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    Ok(ini.section(Some(name)).map(|properties| {
        properties
            .iter()
            .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
            .collect()
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A HOME with `~/.aws/credentials` and `~/.aws/config` as given (empty: no file).
    fn home(credentials: &str, config: &str) -> tempfile::TempDir {
        let home = tempfile::tempdir().unwrap();
        std::fs::create_dir(home.path().join(".aws")).unwrap();
        for (name, text) in [("credentials", credentials), ("config", config)] {
            if !text.is_empty() {
                std::fs::write(home.path().join(".aws").join(name), text).unwrap();
            }
        }
        home
    }

    fn find_in(home: &tempfile::TempDir, env: &[(&str, &str)]) -> Result<Found, String> {
        let mut vars: HashMap<String, String> = env.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        vars.insert("HOME".into(), home.path().display().to_string());
        find(&|name| vars.get(name).cloned())
    }

    const FILES: (&str, &str) = (
        "[default]\naws_access_key_id = AKIADEFAULT\naws_secret_access_key = s3cret-default\n\n\
         [archive]\naws_access_key_id=AKIAARCHIVE\naws_secret_access_key=s3cret-archive\naws_session_token=tok\n",
        "[default]\nregion = us-east-1\n\n[profile archive]\nregion = eu-west-3\n\n\
         [profile sso]\nsso_session = corp\nsso_account_id = 1\n\n[profile assume]\nrole_arn = arn:aws:iam::1:role/r\nsource_profile = default\n",
    );

    #[test]
    fn a_named_profile_gives_its_keys_and_region() {
        let home = home(FILES.0, FILES.1);
        let found = find_in(&home, &[("AWS_PROFILE", "archive")]).unwrap();
        let Some(Credentials::Keys(keys)) = &found.credentials else {
            panic!("{found:?}")
        };
        assert_eq!(keys.access_key_id, "AKIAARCHIVE");
        assert_eq!(keys.secret_access_key, "s3cret-archive");
        assert_eq!(keys.session_token.as_deref(), Some("tok"));
        assert_eq!(found.region.as_deref(), Some("eu-west-3"));
        // A region in the environment wins over the profile's.
        let found = find_in(&home, &[("AWS_PROFILE", "archive"), ("AWS_REGION", "ap-south-1")]).unwrap();
        assert_eq!(found.region, None);
        // Without AWS_PROFILE, `default`.
        let found = find_in(&home, &[]).unwrap();
        let Some(Credentials::Keys(keys)) = &found.credentials else {
            panic!("{found:?}")
        };
        assert_eq!(keys.access_key_id, "AKIADEFAULT");
        assert_eq!(found.region.as_deref(), Some("us-east-1"));
    }

    #[test]
    fn keys_in_the_environment_or_a_role_without_a_profile_come_first() {
        let home = home(FILES.0, FILES.1);
        let env_keys = find_in(&home, &[("AWS_ACCESS_KEY_ID", "AKIAENV"), ("AWS_PROFILE", "archive")]);
        assert_eq!(env_keys.unwrap(), Found::default());
        let pod = find_in(&home, &[("AWS_WEB_IDENTITY_TOKEN_FILE", "/var/run/token")]);
        assert_eq!(pod.unwrap(), Found::default());
        assert_eq!(
            find_in(&tempfile::tempdir().unwrap(), &[]).unwrap(),
            Found::default(),
            "no files"
        );
    }

    #[test]
    fn a_profile_postcall_cannot_use_says_how_to_export_its_keys() {
        let home = home(FILES.0, FILES.1);
        for (profile, how) in [("sso", "signs in with SSO"), ("assume", "assumes a role")] {
            let error = find_in(&home, &[("AWS_PROFILE", profile)]).unwrap_err();
            assert!(error.contains(how), "{error}");
            assert!(
                error.contains(&format!(
                    "aws configure export-credentials --profile {profile} --format env"
                )),
                "{error}"
            );
        }
        let error = find_in(&home, &[("AWS_PROFILE", "sso")]).unwrap_err();
        assert!(
            error.contains(
                "`[profile sso-cli]` with `credential_process = aws configure export-credentials --profile sso \
                 --format process`, then AWS_PROFILE=sso-cli"
            ),
            "{error}"
        );
        assert!(error.contains(".aws/config"), "{error}");
        let error = find_in(&home, &[("AWS_PROFILE", "prod")]).unwrap_err();
        assert!(error.starts_with("AWS_PROFILE=prod: no such profile in "), "{error}");
        assert!(error.contains(".aws/credentials"), "{error}");
        // A default profile with a region only: the roles may still give the keys.
        let home = self::home("", "[default]\nregion = us-west-2\n");
        let found = find_in(&home, &[]).unwrap();
        assert_eq!(
            found,
            Found {
                credentials: None,
                region: Some("us-west-2".into())
            }
        );
    }

    #[test]
    fn a_profile_with_a_credential_process_gives_the_command_and_its_region() {
        let home = home(
            "[tools]\ncredential_process = /opt/bin/creds --user 'a b'\n",
            "[profile build]\nregion = eu-north-1\ncredential_process = \"/opt/my tools/creds\" --x\n\n\
             [profile broken]\ncredential_process = \"/opt/my tools/creds --x\n",
        );
        let found = find_in(&home, &[("AWS_PROFILE", "build")]).unwrap();
        let config = home.path().join(".aws").join("config");
        let expected = CredentialProcess::new("build", config.clone(), "\"/opt/my tools/creds\" --x").unwrap();
        assert_eq!(found.credentials, Some(Credentials::Process(expected)));
        assert_eq!(found.region.as_deref(), Some("eu-north-1"));
        // In the credentials file, the command is said to be there.
        let found = find_in(&home, &[("AWS_PROFILE", "tools")]).unwrap();
        let Some(Credentials::Process(process)) = found.credentials else {
            panic!("{found:?}")
        };
        assert!(format!("{process:?}").contains(".aws/credentials"), "{process:?}");
        let error = find_in(&home, &[("AWS_PROFILE", "broken")]).unwrap_err();
        assert!(
            error.starts_with(&format!(
                "the credential_process of the AWS profile `broken` (in {}): a \" is not closed",
                config.display()
            )),
            "{error}"
        );
    }

    #[test]
    fn values_are_read_as_written_with_their_quotes_and_backslashes() {
        let home = home(
            "",
            "[default]\ncredential_process = \"C:\\Program Files\\creds.exe\" --name 'a b'\n",
        );
        let config = section(Some(&home.path().join(".aws").join("config")), "default")
            .unwrap()
            .unwrap();
        assert_eq!(
            config["credential_process"],
            "\"C:\\Program Files\\creds.exe\" --name 'a b'"
        );
    }

    #[test]
    fn the_secret_is_not_in_a_debug_print() {
        let keys = Keys {
            access_key_id: "AKIA".into(),
            secret_access_key: "s3cret".into(),
            session_token: Some("tok".into()),
        };
        let shown = format!("{keys:?}");
        assert!(!shown.contains("s3cret") && !shown.contains("tok"), "{shown}");
    }
}
