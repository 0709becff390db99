//! `switchboard`: serve, migrate, and operator commands.

use std::process::ExitCode;
use std::sync::Arc;

use app::clock::SystemClock;
use app::config::Config;
use clap::{Parser, Subcommand};

/// The Portal's files as `build.rs` found them (see `server::assets`). Only
/// this binary carries them, not the library the tests link.
mod embedded_site {
    include!(concat!(env!("OUT_DIR"), "/site.rs"));
}

#[derive(Parser)]
#[command(
    name = "switchboard",
    version,
    about = "Self-hostable gateway for WhatsApp, Instagram and Messenger"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server (the default).
    Serve,
    /// Apply database migrations and exit.
    Migrate,
    /// The built-in Meta sandbox.
    Sandbox {
        #[command(subcommand)]
        command: SandboxCommand,
    },
    /// Measure ingest, relay, sends, memory, start-up and the Portal on
    /// loopback (release build; see docs/benchmarks.md).
    Bench(server::bench::BenchArgs),
    /// Take a consistent snapshot of the running SQLite database into a new
    /// file (safe while the server runs). On PostgreSQL: explains pg_dump.
    Backup {
        /// The backup file to create (never overwritten).
        file: std::path::PathBuf,
    },
    /// Replace the configured SQLite database with a backup. Refuses while a
    /// server runs on it; keeps the replaced database beside it.
    Restore {
        /// A file made by `switchboard backup`.
        file: std::path::PathBuf,
    },
    /// List what is misconfigured for live mode, with the fix for each;
    /// exits non-zero when something must be fixed.
    Doctor {
        /// Skip the DNS look-up and the request to the public /healthz.
        #[arg(long)]
        offline: bool,
    },
    /// Operator commands.
    Admin {
        #[command(subcommand)]
        command: AdminCommand,
    },
}

#[derive(Subcommand)]
enum SandboxCommand {
    /// Create the seed data (Sandbox Business, its WABA, numbers, Pages and
    /// Instagram account) when missing, and list the sandbox's assets.
    Seed,
}

#[derive(Subcommand)]
enum AdminCommand {
    /// Create a verified user that owns a new account.
    CreateUser {
        #[arg(long)]
        email: String,
        #[arg(long)]
        password: String,
        #[arg(long)]
        account_name: String,
        /// Also create an API key and print it (shown once).
        #[arg(long)]
        with_key: bool,
    },
    /// Set a new password for a user (all their sessions end). For a user
    /// locked out where no mail reaches them, e.g. a sandbox installation
    /// without SMTP, whose Mailbox shows mail only to signed-in users.
    ResetPassword {
        #[arg(long)]
        email: String,
        #[arg(long)]
        password: String,
    },
    /// Grant licenses to an account (source `enterprise`). Granting the same
    /// tier again replaces the quantity and end date of that grant.
    GrantLicense {
        #[arg(long)]
        account: String,
        /// starter or pro.
        #[arg(long)]
        tier: String,
        /// End of the grant: RFC 3339 (2026-12-31T23:59:59Z) or a date
        /// (2026-12-31, meaning through the end of that day, UTC).
        #[arg(long)]
        until: String,
        /// Number of licenses (each holds one WhatsApp, one Instagram and one
        /// Facebook channel).
        #[arg(long, default_value_t = 1)]
        quantity: i64,
    },
    /// List Meta webhooks that named an asset no active channel holds (newest
    /// first). They are stored and acknowledged, never lost.
    Orphans {
        #[arg(long, default_value_t = 20)]
        limit: i64,
        /// Print the raw bodies too.
        #[arg(long)]
        bodies: bool,
    },
}

fn load_config() -> Result<Config, ExitCode> {
    Config::from_env().map_err(|errors| {
        for e in errors {
            eprintln!("configuration error: {e}");
        }
        ExitCode::from(2)
    })
}

#[tokio::main]
async fn main() -> ExitCode {
    server::assets::embed(embedded_site::SITE);
    let cli = Cli::parse();
    if let Some(Command::Bench(args)) = cli.command {
        return match server::bench::run(args).await {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("bench: {e:#}");
                ExitCode::FAILURE
            }
        };
    }
    if let Some(Command::Doctor { offline }) = cli.command {
        // Reads the settings itself: its job is to explain the ones that fail.
        let vars = std::env::vars()
            .filter(|(k, _)| k.starts_with("SWITCHBOARD_"))
            .collect();
        let findings = server::doctor::examine(&vars, &server::doctor::Options { offline }).await;
        return if server::doctor::print(&findings) {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        };
    }
    let config = match load_config() {
        Ok(c) => c,
        Err(code) => return code,
    };
    let result = match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => server::startup::run(config).await,
        Command::Migrate => migrate(config).await,
        Command::Admin { command } => admin(config, command).await,
        Command::Bench(_) | Command::Doctor { .. } => unreachable!("handled above"),
        Command::Backup { file } => backup(config, file).await,
        Command::Restore { file } => restore(config, file).await,
        Command::Sandbox {
            command: SandboxCommand::Seed,
        } => sandbox_seed(config).await,
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn migrate(config: Config) -> anyhow::Result<()> {
    let db = app::store::Db::connect(&config.database_url).await?;
    db.migrate().await?;
    println!(
        "migrations applied to {}",
        app::config::mask_url_password(&config.database_url)
    );
    Ok(())
}

async fn backup(config: Config, file: std::path::PathBuf) -> anyhow::Result<()> {
    let r = server::backup::backup(&config, &file).await?;
    println!(
        "backup written to {} ({} bytes, schema {})",
        r.path.display(),
        r.bytes,
        r.schema_version
    );
    println!("{}", server::backup::secret_key_reminder(&config));
    Ok(())
}

async fn restore(config: Config, file: std::path::PathBuf) -> anyhow::Result<()> {
    let r = server::backup::restore(&config, &file).await?;
    println!(
        "restored {} into {} (schema {}); newer migrations run when the server starts",
        file.display(),
        r.path.display(),
        r.schema_version
    );
    if let Some(previous) = r.previous {
        println!("the database it replaced is kept at {}", previous.display());
    }
    println!("{}", server::backup::secret_key_reminder(&config));
    Ok(())
}

async fn sandbox_seed(config: Config) -> anyhow::Result<()> {
    anyhow::ensure!(
        config.sandbox(),
        "SWITCHBOARD_META_MODE: the sandbox exists only in sandbox mode"
    );
    let db = app::store::Db::connect(&config.database_url).await?;
    db.migrate().await?;
    let now = app::clock::Clock::now_ms(&SystemClock);
    if server::sandbox::seed::ensure(&db, now).await? {
        println!("sandbox seeded");
    } else {
        println!("sandbox already has assets; add more with POST /sandbox/api/assets");
    }
    for kind in ["business", "waba", "phone", "page", "instagram"] {
        for a in server::sandbox::db::assets_of_kind(&db, kind).await? {
            println!(
                "{kind:<10} {:<18} {}",
                a.id,
                server::sandbox::seed::describe(&a)
            );
        }
    }
    Ok(())
}

async fn admin(config: Config, command: AdminCommand) -> anyhow::Result<()> {
    let state = server::startup::build_state(config, Arc::new(SystemClock)).await?;
    match command {
        AdminCommand::CreateUser {
            email,
            password,
            account_name,
            with_key,
        } => {
            let created =
                app::services::accounts::create_verified(&state, &email, &password, &account_name)
                    .await
                    .map_err(|e| anyhow::anyhow!("{}", e.public_detail()))?;
            println!("user_id={}", created.user.id);
            println!("account_id={}", created.account.id);
            if with_key {
                let key = app::services::keys::create(
                    &state,
                    &created.account.id,
                    "admin",
                    Some(&created.user.id),
                )
                .await
                .map_err(|e| anyhow::anyhow!("{}", e.public_detail()))?;
                println!("api_key={}", key.secret);
            }
        }
        AdminCommand::ResetPassword { email, password } => {
            let user = app::services::accounts::set_password_by_operator(&state, &email, &password)
                .await
                .map_err(|e| anyhow::anyhow!("{}", e.public_detail()))?;
            println!("password changed for {} (user_id={})", user.email, user.id);
        }
        AdminCommand::GrantLicense {
            account,
            tier,
            until,
            quantity,
        } => {
            let tier = app::domain::billing::Tier::parse(&tier)
                .ok_or_else(|| anyhow::anyhow!("--tier: `{tier}` is not one of starter, pro"))?;
            let until =
                app::domain::billing::parse_until(&until).map_err(|e| anyhow::anyhow!("--{e}"))?;
            let l = app::services::licenses::grant(&state, &account, tier, until, quantity)
                .await
                .map_err(|e| anyhow::anyhow!("{}", e.public_detail()))?;
            println!("license_id={}", l.id);
            println!("account_id={}", l.account_id);
            println!("tier={} quantity={}", l.tier, l.quantity);
            println!("expires_at={}", app::clock::rfc3339(l.expires_at));
        }
        AdminCommand::Orphans { limit, bodies } => {
            let orphans = app::store::events::orphans(&state.db, limit).await?;
            if orphans.is_empty() {
                println!("no orphaned webhooks");
            }
            for o in orphans {
                println!(
                    "{}  {}  object={}  assets={}",
                    app::clock::rfc3339(o.received_at),
                    o.id,
                    o.object.as_deref().unwrap_or("?"),
                    o.orphan_assets.as_deref().unwrap_or("(not Meta JSON)")
                );
                if bodies {
                    // Stored encrypted (end users' messages); shown decrypted to the operator.
                    let body = state
                        .cipher
                        .decrypt(&o.body)
                        .map(|b| String::from_utf8_lossy(&b).into_owned())
                        .unwrap_or_else(|_| "(cannot be decrypted with this secret key)".into());
                    println!("  {body}");
                }
            }
        }
    }
    Ok(())
}
