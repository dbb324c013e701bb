//! Typed configuration of the camera service.
//!
//! One YAML file (`--config PATH`, default [`DEFAULT_PATH`]; the built-in default when it is
//! absent), then environment overrides `CAMERA_SERVICE_<SECTION>_<KEY>` (values are YAML
//! scalars or flow collections), then validation whose errors name the key and the bad value.
//! Every section lives in its own module; section names contain no underscore so that the
//! environment names are unambiguous.
//!
//! The environment rule: a `CAMERA_SERVICE_*` variable is an override only when the word
//! after the prefix names a known section (`CAMERA_SERVICE_SERVER_PORT`); it is refused only
//! when it names a known section and an unknown key (`CAMERA_SERVICE_SERVER_PROT`). Every
//! other `CAMERA_SERVICE_*` variable belongs to a tool ([`TOOL_VARIABLES`]: the CLI's token
//! and config path, the demo's port and directory, ...) and is never read here.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_yaml::Value as Yaml;
use thiserror::Error;

mod secret;
mod sections;

pub use secret::Secret;
pub use sections::*;

/// Where the service looks when no `--config` is given.
pub const DEFAULT_PATH: &str = "/etc/camera-service/config.yaml";
/// Prefix of environment overrides.
pub const ENV_PREFIX: &str = "CAMERA_SERVICE_";

/// Variables the tools read themselves; none names a section, so none is an override.
/// (`config::tests::tool_variables_are_never_overrides` holds each to that.)
pub const TOOL_VARIABLES: [&str; 6] = [
    "CAMERA_SERVICE_CONFIG",
    "CAMERA_SERVICE_TOKEN",
    "CAMERA_SERVICE_DEMO_PORT",
    "CAMERA_SERVICE_DEMO_DIR",
    "CAMERA_SERVICE_DEMO_PROFILE",
    "CAMERA_SERVICE_BIN",
];

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub server: ServerConfig,
    pub auth: AuthConfig,
    pub camera: CameraConfig,
    pub media: MediaConfig,
    pub storage: StorageConfig,
    pub retention: RetentionConfig,
    pub recording: RecordingConfig,
    pub mediamtx: MediamtxConfig,
    pub events: EventsConfig,
    pub logging: LoggingConfig,
    pub mqtt: MqttConfig,
}

/// Why a configuration was refused. The text names the key and the value.
#[derive(Debug, Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("config file {path}: {message}")]
    Syntax { path: String, message: String },
    #[error("environment variable {var}: {message}")]
    Env { var: String, message: String },
    #[error("config key {key} = {value}: {problem}")]
    Invalid {
        key: String,
        value: String,
        problem: String,
    },
}

impl ConfigError {
    pub fn invalid(
        key: &str,
        value: impl std::fmt::Display,
        problem: impl Into<String>,
    ) -> ConfigError {
        ConfigError::Invalid {
            key: key.to_owned(),
            value: value.to_string(),
            problem: problem.into(),
        }
    }
}

/// Where the configuration came from (for the start-up log).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    File(PathBuf),
    BuiltIn,
}

impl Config {
    /// Loads `path` (or [`DEFAULT_PATH`] when `None`; the built-in default when that file
    /// does not exist), applies the environment, validates.
    /// A path given explicitly must exist.
    pub fn load(
        path: Option<&Path>,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<(Config, Source), ConfigError> {
        let (text, source) = match path {
            Some(p) => (read(p)?, Source::File(p.to_owned())),
            None => {
                let p = Path::new(DEFAULT_PATH);
                if p.exists() {
                    (read(p)?, Source::File(p.to_owned()))
                } else {
                    (String::new(), Source::BuiltIn)
                }
            }
        };
        let name = match &source {
            Source::File(p) => p.display().to_string(),
            Source::BuiltIn => "built-in default".to_owned(),
        };
        let config = Config::from_yaml_with_env(&text, &name, env)?;
        Ok((config, source))
    }

    /// Parses YAML text (empty text is the built-in default), applies `env`, validates.
    pub fn from_yaml_with_env(
        text: &str,
        name: &str,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Config, ConfigError> {
        let syntax = |e: serde_yaml::Error| ConfigError::Syntax {
            path: name.to_owned(),
            message: e.to_string(),
        };
        let mut tree: Yaml = if text.trim().is_empty() {
            Yaml::Mapping(Default::default())
        } else {
            serde_yaml::from_str(text).map_err(syntax)?
        };
        if tree.is_null() {
            tree = Yaml::Mapping(Default::default());
        }
        if !tree.is_mapping() {
            return Err(ConfigError::Syntax {
                path: name.to_owned(),
                message: "the top level must be a mapping of sections".into(),
            });
        }
        let mut env: Vec<(String, String)> =
            env.into_iter().filter(|(k, _)| is_override(k)).collect();
        env.sort();
        for (var, value) in env {
            apply_env(&mut tree, &var, &value)?;
        }
        let config: Config = serde_path_to_error::deserialize(tree).map_err(|e| {
            let path = e.path().to_string();
            ConfigError::Syntax {
                path: name.to_owned(),
                message: format!("{path}: {}", e.into_inner()),
            }
        })?;
        config.validate()?;
        Ok(config)
    }

    pub fn validate(&self) -> Result<(), ConfigError> {
        self.server.validate()?;
        self.auth.validate()?;
        self.camera.validate()?;
        self.media.validate()?;
        self.storage.validate()?;
        self.retention.validate()?;
        self.recording.validate()?;
        self.mediamtx.validate()?;
        self.events.validate()?;
        self.logging.validate()?;
        self.mqtt.validate()?;
        Ok(())
    }

    /// The configuration as YAML, secrets redacted (for `--print-config` and logs).
    pub fn to_redacted_yaml(&self) -> String {
        serde_yaml::to_string(self).unwrap_or_else(|e| format!("# cannot render config: {e}\n"))
    }
}

fn read(path: &Path) -> Result<String, ConfigError> {
    std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_owned(),
        source,
    })
}

/// The section names, as the environment spells them after [`ENV_PREFIX`] (lower case).
fn section_names() -> Vec<String> {
    match serde_yaml::to_value(Config::default()) {
        Ok(Yaml::Mapping(m)) => m
            .keys()
            .filter_map(|k| k.as_str().map(str::to_owned))
            .collect(),
        _ => Vec::new(),
    }
}

/// Whether `var` is a configuration override: `CAMERA_SERVICE_<SECTION>_...` for a known
/// section. Anything else (the tools' own variables, other programs') is left alone.
pub fn is_override(var: &str) -> bool {
    let Some(rest) = var.strip_prefix(ENV_PREFIX) else {
        return false;
    };
    let Some((section, _)) = rest.split_once('_') else {
        return false;
    };
    let section = section.to_ascii_lowercase();
    section_names().contains(&section)
}

/// `CAMERA_SERVICE_SERVER_PORT=8003` sets `server.port` to 8003 (parsed as YAML).
fn apply_env(tree: &mut Yaml, var: &str, value: &str) -> Result<(), ConfigError> {
    let env_err = |message: String| ConfigError::Env {
        var: var.to_owned(),
        message,
    };
    let rest = var[ENV_PREFIX.len()..].to_ascii_lowercase();
    let (section, key) = rest
        .split_once('_')
        .filter(|(s, k)| !s.is_empty() && !k.is_empty())
        .ok_or_else(|| env_err("expected CAMERA_SERVICE_<SECTION>_<KEY>".into()))?;
    let known = Config::default();
    let known = serde_yaml::to_value(&known).map_err(|e| env_err(e.to_string()))?;
    let section_known = known
        .get(section)
        .ok_or_else(|| env_err(format!("unknown section {section:?}")))?;
    if section_known.get(key).is_none() {
        return Err(env_err(format!(
            "unknown key {key:?} in section {section:?}"
        )));
    }
    let parsed: Yaml = if value.is_empty() {
        Yaml::Null
    } else {
        serde_yaml::from_str(value).unwrap_or_else(|_| Yaml::String(value.to_owned()))
    };
    let map = tree
        .as_mapping_mut()
        .ok_or_else(|| env_err("config is not a mapping".into()))?;
    let entry = map
        .entry(Yaml::String(section.to_owned()))
        .or_insert_with(|| Yaml::Mapping(Default::default()));
    if entry.is_null() {
        *entry = Yaml::Mapping(Default::default());
    }
    let section_map = entry
        .as_mapping_mut()
        .ok_or_else(|| env_err(format!("section {section:?} in the file is not a mapping")))?;
    section_map.insert(Yaml::String(key.to_owned()), parsed);
    Ok(())
}

#[cfg(test)]
mod tests;
