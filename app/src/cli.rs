//! The `camera-service` command line: `serve` (default), `token`, `keys`, `doctor`, `call`,
//! `fleet`.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::builder::{PossibleValuesParser, TypedValueParser};
use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};
use config::{Config, Source};
use domain::{Method, Role, Timestamp};
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
        #[arg(long, default_value = "viewer", value_parser = role_parser())]
        role: Role,
        /// Lifetime: seconds, or with a unit (90s, 15m, 12h, 30d).
        #[arg(long, default_value = "24h", value_parser = parse_duration, allow_hyphen_values = true)]
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
    /// Check the setup (config, secrets, devices, ffmpeg, MediaMTX, disk, port): one line
    /// per check with its fix; exit status 1 when a check fails.
    Doctor {
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Call a method and print its result as JSON (`subscribe_events` follows: one JSON line
    /// per event until Ctrl-C).
    Call {
        /// The method (listed below).
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
    /// Print the OpenRPC document of this build's API (what `rpc.discover` answers); no
    /// server needed. The clients' generators read it.
    Openrpc {
        /// The `/ws` URL put in `servers` (default: ws://127.0.0.1:<configured port>/ws).
        #[arg(long)]
        url: Option<String>,
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
        #[arg(long, default_value = "viewer", value_parser = role_parser())]
        role: Role,
        #[arg(long, default_value = "")]
        label: String,
        /// Expire after this long (e.g. 30d); never by default.
        #[arg(long, value_parser = parse_duration, allow_hyphen_values = true)]
        expires_in: Option<u64>,
    },
    /// List keys (never the keys themselves).
    List,
    /// Revoke a key by id; connections using it are refused from their next call.
    Revoke { id: String },
}

/// `--role`: one of the roles, listed by `--help` and in the error for any other value.
fn role_parser() -> impl TypedValueParser<Value = Role> {
    PossibleValuesParser::new(Role::ALL.map(Role::as_str)).map(|s: String| {
        Role::parse(&s).expect("PossibleValuesParser admits only the names of Role::ALL")
    })
}

/// One line per method of the server's registry ([`Method::ALL`]): name, least role, params.
pub fn methods_help() -> String {
    let mut text = String::from("Methods (least role; params):\n");
    for m in Method::ALL {
        let role = m.min_role().map(Role::as_str).unwrap_or("none");
        let params = match m.param_names() {
            [] => "-".to_owned(),
            names => names.join(", "),
        };
        let about = method_about(m.name());
        text.push_str(&format!("  {:<26}{role:<9} {params}", m.name()));
        if !about.is_empty() {
            text.push_str(&format!(" — {about}"));
        }
        text.push('\n');
    }
    text.push_str(
        "\nExamples:\n  camera-service call get_camera_list\n  \
         camera-service call take_snapshot '{\"device\": \"camera0\"}'\n  \
         camera-service call subscribe_events '{\"topics\": [\"camera.*\"]}'\n\
         docs/api.md has every method's params and result.",
    );
    text
}

/// What a method does, in a few words (a method without a line here is still listed).
fn method_about(name: &str) -> &'static str {
    match name {
        "ping" => "liveness check",
        "rpc.discover" => "the OpenRPC document of the API (also: camera-service openrpc)",
        "authenticate" => "authenticate the connection (call does it for you)",
        "get_camera_list" => "every camera and its status",
        "get_camera_status" => "one camera, its capabilities, stream and recording",
        "get_camera_capabilities" => "formats, sizes and frame rates",
        "take_snapshot" => "take a picture (jpg or png)",
        "start_recording" => "start recording (duration in seconds, or until stopped)",
        "stop_recording" => "stop a recording",
        "start_streaming" => "bring a camera's stream up (MediaMTX)",
        "stop_streaming" => "end the viewing hold of a stream",
        "get_stream_url" => "a camera's RTSP / WebRTC / HLS URLs",
        "get_stream_status" => "a stream's state and traffic",
        "get_streams" => "every stream",
        "list_recordings" => "recordings, newest first",
        "list_snapshots" => "snapshots, newest first",
        "get_recording_info" => "one recording, with duration and video facts",
        "get_snapshot_info" => "one snapshot, with its size",
        "delete_recording" => "delete a recording",
        "delete_snapshot" => "delete a snapshot",
        "get_metrics" => "process, connection, request and media figures",
        "get_status" => "health of each component",
        "get_server_info" => "version, media mode, capabilities, methods",
        "get_storage_info" => "disk use and the retention policy",
        "set_retention_policy" => "change the retention policy",
        "cleanup_old_files" => "apply the retention policy now",
        "subscribe_events" => {
            "follow events (topics: camera.*, recording.*, snapshot.taken, system.health, *)"
        }
        "unsubscribe_events" => "end a subscription",
        _ => "",
    }
}

/// `90`, `90s`, `15m`, `12h`, `30d` → seconds.
pub fn parse_duration(s: &str) -> Result<u64, String> {
    let s = s.trim();
    if s.starts_with('-') {
        return Err(format!(
            "{s:?} is negative: give a positive duration, e.g. 90, 15m, 12h, 30d"
        ));
    }
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

fn load_config(path: Option<&PathBuf>) -> Result<(Config, Source), String> {
    Config::load(path.map(|p| p.as_path()), std::env::vars()).map_err(|e| e.to_string())
}

/// Which configuration a command used, for its note on stderr.
fn config_note(source: &Source) -> String {
    match source {
        Source::File(p) => format!("config {}", p.display()),
        Source::BuiltIn => format!(
            "built-in default config: {} does not exist; a server's config is given with --config",
            config::DEFAULT_PATH
        ),
    }
}

/// Which JWT secret the configuration names (never the secret itself).
fn secret_note(config: &Config) -> String {
    match &config.auth.jwt_secret {
        Some(_) => "JWT secret from auth.jwt_secret".to_owned(),
        None => format!("JWT secret from {}", config.auth.jwt_secret_file.display()),
    }
}

fn now() -> Timestamp {
    cs_sys::SystemClock::new().now()
}

pub fn main() -> ExitCode {
    let command = Cli::command().mut_subcommand("call", |c| c.after_help(methods_help()));
    let cli = match Cli::from_arg_matches(&command.get_matches()) {
        Ok(cli) => cli,
        Err(e) => e.exit(),
    };
    if let Some(Command::Doctor { json }) = cli.command {
        return doctor(cli.config.as_ref(), json);
    }
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
    let (config, source) = load_config(cli.config.as_ref())?;
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
            let path = cli.config.clone();
            runtime()?.block_on(serve(config, move || {
                load_config(path.as_ref()).map(|(config, _)| config)
            }))
        }
        Command::Token {
            role,
            lifetime,
            user,
        } => {
            let secret = crate::root::jwt_secret(&config).map_err(|e| e.to_string())?;
            let jwt = cs_auth::JwtAuthority::new(&secret);
            println!("{}", jwt.issue(&user, role, lifetime, now()));
            eprintln!(
                "camera-service: signed with the {} ({}); only a server using that secret accepts it",
                secret_note(&config),
                config_note(&source)
            );
            Ok(())
        }
        Command::Keys { action } => {
            eprintln!(
                "camera-service: API keys in {} ({})",
                config.auth.keys_file.display(),
                config_note(&source)
            );
            keys(&config, action)
        }
        Command::Doctor { .. } => Err("doctor is run by main".into()),
        Command::Call {
            method,
            params,
            url,
            token,
        } => runtime()?.block_on(call(
            &config,
            &source,
            &method,
            params.as_deref(),
            url,
            token,
        )),
        Command::Fleet {
            broker,
            topics,
            follow,
        } => runtime()?.block_on(fleet(&config, broker, &topics, follow)),
        Command::Openrpc { url } => {
            let url = url.unwrap_or_else(|| format!("ws://127.0.0.1:{}/ws", config.server.port));
            let doc = domain::contract::document(crate::dispatch::VERSION, &url);
            let text = serde_json::to_string_pretty(&doc).map_err(|e| e.to_string())?;
            println!("{text}");
            Ok(())
        }
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

async fn serve(config: Config, reload: impl Fn() -> Result<Config, String>) -> Result<(), String> {
    let running = crate::root::start(config)
        .await
        .map_err(|e| e.to_string())?;
    // systemd (Type=notify): READY, STATUS, WATCHDOG, STOPPING; no-ops without NOTIFY_SOCKET.
    let manager = std::sync::Arc::new(cs_sys::SystemdNotifier::from_env());
    crate::lifecycle::run(running, manager, reload).await
}

/// `camera-service doctor`: exit status 0 when no check failed, 1 otherwise.
fn doctor(path: Option<&PathBuf>, json: bool) -> ExitCode {
    let loaded = load_config(path);
    let source = match (&loaded, path) {
        (Ok((_, Source::File(p))), _) | (Err(_), Some(p)) => p.display().to_string(),
        (Ok((_, Source::BuiltIn)), _) | (Err(_), None) => "built-in default".to_owned(),
    };
    let config = loaded.map(|(config, _)| config);
    let rt = match runtime() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("camera-service: {e}");
            return ExitCode::FAILURE;
        }
    };
    let host = crate::root::DoctorHost::new();
    let report = rt.block_on(crate::doctor::examine(config, source, &host));
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&report).unwrap_or_default()
        );
    } else {
        print!("{}", report.text());
    }
    match report.ok {
        true => ExitCode::SUCCESS,
        false => ExitCode::FAILURE,
    }
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
    source: &Source,
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
    let (token, minted) = match token {
        Some(t) => (t, false),
        None => {
            let secret = crate::root::jwt_secret(config)
                .map_err(|e| format!("no --token given and no usable JWT secret ({e})"))?;
            eprintln!(
                "camera-service: no --token or $CAMERA_SERVICE_TOKEN: a 5-minute admin token signed with the {} ({})",
                secret_note(config),
                config_note(source)
            );
            (
                cs_auth::JwtAuthority::new(&secret).issue("cli", Role::Admin, 300, now()),
                true,
            )
        }
    };
    let client = cs_jsonrpc::Client::connect(&url, None)
        .await
        .map_err(|e| format!("cannot connect to {url}: {e}"))?;
    if method != "ping" && method != "authenticate" {
        client
            .call("authenticate", serde_json::json!({"auth_token": token}))
            .await
            .map_err(|e| {
                let mut text = format!("authenticate: {e}");
                if e.to_string().contains("signature does not match") {
                    text.push_str(&match minted {
                        true => format!(
                            "\nhint: the server at {url} uses another JWT secret than the {} ({}): \
                             give the server's --config, or --token",
                            secret_note(config),
                            config_note(source)
                        ),
                        false => "\nhint: the token was signed with another secret than the \
                                  server's: make one with \
                                  `camera-service --config <the server's config> token`"
                            .to_owned(),
                    });
                }
                text
            })?;
    }
    if method == "subscribe_events" {
        return follow_events(&client, params).await;
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

/// `call subscribe_events`: the id on stderr, then each event as one JSON line on stdout
/// (flushed at once, so a pipe sees it) until Ctrl-C or the server ends the subscription.
async fn follow_events(client: &cs_jsonrpc::Client, params: Value) -> Result<(), String> {
    use std::io::Write;
    let mut events = client
        .subscribe_events(params)
        .await
        .map_err(|e| e.to_string())?;
    eprintln!(
        "camera-service: subscription {} — one JSON line per event; Ctrl-C ends",
        events.id()
    );
    let mut stdout = std::io::stdout();
    loop {
        tokio::select! {
            _ = tokio::signal::ctrl_c() => return Ok(()),
            event = events.next() => match event {
                Some(Ok(event)) => {
                    let line = serde_json::to_string(&event).map_err(|e| e.to_string())?;
                    if writeln!(stdout, "{line}").and_then(|_| stdout.flush()).is_err() {
                        return Ok(()); // the reader of the pipe has gone
                    }
                }
                Some(Err(e)) => return Err(format!("subscription: {e}")),
                None => return Err("the server ended the subscription".into()),
            },
        }
    }
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
        assert!(parse_duration("-5m").unwrap_err().contains("negative"));
    }
}
