//! The `camera-service` command line: `serve` (default), `token`, `keys`, `call`, `fleet`.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use config::Config;
use domain::{Role, Timestamp};
use ports::clock::Clock;
use serde_json::Value;

#[derive(Parser, Debug)]
#[command(
    name = "camera-service",
    version,
    about = "USB cameras as a secure real-time JSON-RPC API"
)]
pub struct Cli {
    /// Configuration file (default /etc/camera-service/config.yaml; built-in default when absent).
    #[arg(long, short = 'c', global = true, env = "CAMERA_SERVICE_CONFIG")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run the service (the default).
    Serve {
        /// Print the effective configuration (secrets redacted) and exit.
        #[arg(long)]
        print_config: bool,
    },
    /// Issue a JWT signed with the configured secret.
    Token {
        #[arg(long, default_value = "viewer", value_parser = parse_role)]
        role: Role,
        /// Lifetime: seconds, or with a unit (90s, 15m, 12h, 30d).
        #[arg(long, default_value = "24h", value_parser = parse_duration)]
        lifetime: u64,
        /// The `user_id` claim.
        #[arg(long, default_value = "cli")]
        user: String,
    },
    /// Manage API keys.
    Keys {
        #[command(subcommand)]
        action: KeysAction,
    },
    /// Call a method and print its result as JSON.
    Call {
        method: String,
        /// Params as JSON (an object or an array).
        params: Option<String>,
        /// WebSocket URL (default: ws://127.0.0.1:<configured port>/ws).
        #[arg(long)]
        url: Option<String>,
        /// JWT or API key (default: $CAMERA_SERVICE_TOKEN, else a short-lived admin token
        /// from the configured secret).
        #[arg(long, env = "CAMERA_SERVICE_TOKEN", hide_env_values = true)]
        token: Option<String>,
    },
    /// List every box and camera on an MQTT broker (from their retained states); with
    /// --follow, then stream events fleet-wide.
    Fleet {
        /// mqtt://host[:port] or mqtts://host[:port] (default: the configured mqtt.broker_url).
        #[arg(long)]
        broker: Option<String>,
        /// Topic filter the services publish under.
        #[arg(long, default_value = "camera-service/#")]
        topics: String,
        /// After the list, print events, availability and state changes as they come.
        #[arg(long)]
        follow: bool,
    },
}

#[derive(Subcommand, Debug)]
enum KeysAction {
    /// Create a key; it is printed once and stored only as a hash.
    Add {
        #[arg(long, default_value = "viewer", value_parser = parse_role)]
        role: Role,
        #[arg(long, default_value = "")]
        label: String,
        /// Expire after this long (e.g. 30d); never by default.
        #[arg(long, value_parser = parse_duration)]
        expires_in: Option<u64>,
    },
    /// List keys (never the keys themselves).
    List,
    /// Revoke a key by id; connections using it are refused from their next call.
    Revoke { id: String },
}

fn parse_role(s: &str) -> Result<Role, String> {
    Role::parse(s).ok_or_else(|| format!("role must be viewer, operator or admin, got {s:?}"))
}

/// `90`, `90s`, `15m`, `12h`, `30d` → seconds.
pub fn parse_duration(s: &str) -> Result<u64, String> {
    let s = s.trim();
    let (num, unit) = match s.find(|c: char| !c.is_ascii_digit()) {
        Some(i) => s.split_at(i),
        None => (s, "s"),
    };
    let n: u64 = num
        .parse()
        .map_err(|_| format!("bad duration {s:?}: expected e.g. 90, 15m, 12h, 30d"))?;
    let mult = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => return Err(format!("bad duration unit in {s:?}: use s, m, h or d")),
    };
    n.checked_mul(mult)
        .filter(|v| *v > 0)
        .ok_or_else(|| format!("duration {s:?} must be > 0 and not absurdly large"))
}

fn load_config(path: Option<&PathBuf>) -> Result<Config, String> {
    Config::load(path.map(|p| p.as_path()), std::env::vars())
        .map(|(c, _)| c)
        .map_err(|e| e.to_string())
}

fn now() -> Timestamp {
    cs_sys::SystemClock::new().now()
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(msg) => {
            eprintln!("camera-service: {msg}");
            ExitCode::FAILURE
        }
    }
}

fn runtime() -> Result<tokio::runtime::Runtime, String> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the runtime: {e}"))
}

fn run(cli: Cli) -> Result<(), String> {
    let config = load_config(cli.config.as_ref())?;
    match cli.command.unwrap_or(Command::Serve {
        print_config: false,
    }) {
        Command::Serve { print_config: true } => {
            print!("{}", config.to_redacted_yaml());
            Ok(())
        }
        Command::Serve {
            print_config: false,
        } => {
            // Each client is a file descriptor: lift the soft limit (often 1,024) to the hard one.
            if let Err(e) = cs_sys::raise_fd_limit() {
                eprintln!("camera-service: cannot raise the open-file limit: {e}");
            }
            runtime()?.block_on(serve(config))
        }
        Command::Token {
            role,
            lifetime,
            user,
        } => {
            let secret = crate::root::jwt_secret(&config).map_err(|e| e.to_string())?;
            let jwt = cs_auth::JwtAuthority::new(&secret);
            println!("{}", jwt.issue(&user, role, lifetime, now()));
            Ok(())
        }
        Command::Keys { action } => keys(&config, action),
        Command::Call {
            method,
            params,
            url,
            token,
        } => runtime()?.block_on(call(&config, &method, params.as_deref(), url, token)),
        Command::Fleet {
            broker,
            topics,
            follow,
        } => runtime()?.block_on(fleet(&config, broker, &topics, follow)),
    }
}

/// `fleet`: a broker connection of its own (credentials and CA from the mqtt section).
async fn fleet(
    config: &Config,
    broker: Option<String>,
    topics: &str,
    follow: bool,
) -> Result<(), String> {
    let m = &config.mqtt;
    let url = broker.unwrap_or_else(|| m.broker_url.clone());
    let ca_pem = match m.ca_file.as_str() {
        "" => None,
        path => Some(std::fs::read(path).map_err(|e| format!("mqtt.ca_file {path}: {e}"))?),
    };
    let options = cs_mqtt::BrokerOptions {
        ca_pem,
        username: (!m.username.is_empty()).then(|| m.username.clone()),
        password: m
            .password_text()
            .map_err(|e| format!("mqtt password: {e}"))?,
        ..cs_mqtt::BrokerOptions::new(&url, &format!("cs-fleet-{}", std::process::id()))
    };
    let (inbox, incoming) = crate::mqtt::inbox_of(1 << 16);
    let broker = cs_mqtt::MqttBroker::start(options, std::sync::Arc::new(inbox))
        .map_err(|e| e.to_string())?;
    let mut out = std::io::stdout();
    tokio::select! {
        r = crate::mqtt::fleet::run(broker, incoming, topics, follow, &mut out) => r,
        _ = tokio::signal::ctrl_c() => Ok(()),
    }
}

async fn serve(config: Config) -> Result<(), String> {
    let running = crate::root::start(config)
        .await
        .map_err(|e| e.to_string())?;
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .map_err(|e| format!("cannot handle SIGTERM: {e}"))?;
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
        _ = running.stopped() => {}
    }
    running.stop().await;
    Ok(())
}

fn keys(config: &Config, action: KeysAction) -> Result<(), String> {
    let store = cs_auth::FileKeyStore::open(&config.auth.keys_file)
        .map_err(|e| format!("API key store {}: {e}", config.auth.keys_file.display()))?;
    match action {
        KeysAction::Add {
            role,
            label,
            expires_in,
        } => {
            let now = now();
            let expires = expires_in.map(|s| now.plus_millis(s as i64 * 1000));
            let (key, record) = store
                .add(role, &label, expires, now)
                .map_err(|e| e.to_string())?;
            println!("{key}");
            eprintln!(
                "id {} role {} expires {} — the key above is shown only now; store it safely",
                record.id,
                record.role,
                record
                    .expires_at
                    .map(|t| t.to_string())
                    .unwrap_or_else(|| "never".into())
            );
            Ok(())
        }
        KeysAction::List => {
            let list = store.list().map_err(|e| e.to_string())?;
            let rows: Vec<Value> = list
                .iter()
                .map(|r| {
                    serde_json::json!({
                        "id": r.id, "role": r.role, "label": r.label, "created_at": r.created_at,
                        "expires_at": r.expires_at, "last_used_at": r.last_used_at, "revoked": r.revoked,
                    })
                })
                .collect();
            println!(
                "{}",
                serde_json::to_string_pretty(&rows).unwrap_or_default()
            );
            Ok(())
        }
        KeysAction::Revoke { id } => match store.revoke(&id).map_err(|e| e.to_string())? {
            true => {
                eprintln!("revoked {id}");
                Ok(())
            }
            false => Err(format!("no API key with id {id:?}")),
        },
    }
}

async fn call(
    config: &Config,
    method: &str,
    params: Option<&str>,
    url: Option<String>,
    token: Option<String>,
) -> Result<(), String> {
    let params: Value = match params {
        None => Value::Null,
        Some(text) => {
            serde_json::from_str(text).map_err(|e| format!("params are not valid JSON: {e}"))?
        }
    };
    let url = url.unwrap_or_else(|| format!("ws://127.0.0.1:{}/ws", config.server.port));
    let token = match token {
        Some(t) => t,
        None => {
            let secret = crate::root::jwt_secret(config)
                .map_err(|e| format!("no --token given and no usable JWT secret ({e})"))?;
            cs_auth::JwtAuthority::new(&secret).issue("cli", Role::Admin, 300, now())
        }
    };
    let client = cs_jsonrpc::Client::connect(&url, None)
        .await
        .map_err(|e| format!("cannot connect to {url}: {e}"))?;
    if method != "ping" && method != "authenticate" {
        client
            .call("authenticate", serde_json::json!({"auth_token": token}))
            .await
            .map_err(|e| format!("authenticate: {e}"))?;
    }
    let result = client
        .call(method, params)
        .await
        .map_err(|e| e.to_string())?;
    println!(
        "{}",
        serde_json::to_string_pretty(&result).unwrap_or_default()
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::parse_duration;

    #[test]
    fn durations_take_units() {
        assert_eq!(parse_duration("90"), Ok(90));
        assert_eq!(parse_duration("15m"), Ok(900));
        assert_eq!(parse_duration("12h"), Ok(43_200));
        assert_eq!(parse_duration("30d"), Ok(2_592_000));
        assert!(parse_duration("0").is_err());
        assert!(parse_duration("5w").is_err());
        assert!(parse_duration("").is_err());
    }
}
