//! Command-line interface: `run`, `quick`, `list`.

use crate::generator::RequestGenerator;
use crate::progress;
use crate::report::RunReport;
use crate::runner::{self, RunControl};
use crate::scenario::{
    DEFAULT_BASE_URL, DimValues, DimensionsSpec, DurationValue, LayerSpec, Overrides, Scalar,
    Scenario, ScenarioError, ScenarioSpec, Thresholds,
};
use crate::strategy::{StrategySpec, ZoomSpec};
use crate::tile::TileMatrixSet;
use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::{Path, PathBuf};

/// Exit code when a scenario threshold is breached.
pub const EXIT_THRESHOLD: i32 = 3;
/// Exit code for invalid scenarios or arguments.
pub const EXIT_CONFIG: i32 = 2;
/// Exit code for other failures.
pub const EXIT_FAILURE: i32 = 1;

/// Load generator for WMTS/XYZ tile servers.
#[derive(Debug, Parser)]
#[command(name = "wxfarm-loadgen", version, about)]
pub struct Cli {
    /// Subcommand.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run a scenario file (or the name of a shipped scenario).
    Run(RunArgs),
    /// Random XYZ tiles against a server, no scenario file needed.
    Quick(QuickArgs),
    /// List scenarios with their descriptions.
    List(ListArgs),
}

/// Output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    /// Human-readable table on stdout.
    Table,
    /// JSON report on stdout (or `--out`); nothing else is written to stdout.
    Json,
    /// Append one row to a CSV file (`--out`), plus the table on stdout.
    Csv,
}

/// Options shared by `run` and `quick`.
#[derive(Debug, Args)]
pub struct OutputArgs {
    /// Report format.
    #[arg(long, value_enum, default_value = "table")]
    pub output: OutputFormat,
    /// File for json/csv output (csv default: loadgen-results.csv).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Never draw the progress bar (it is only drawn when stderr is a TTY anyway).
    #[arg(long, short)]
    pub quiet: bool,
}

/// `run` arguments.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// Scenario YAML file, or a scenario name from the scenarios folder.
    #[arg(long, short)]
    pub scenario: String,
    /// Override `concurrency` (workers, or in-flight cap with --rate).
    #[arg(long)]
    pub concurrency: Option<i64>,
    /// Override `duration` (e.g. 30s, 2m); replaces `requests`.
    #[arg(long)]
    pub duration: Option<String>,
    /// Override `rate` (req/s): switches to the open loop.
    #[arg(long)]
    pub rate: Option<f64>,
    /// Override `base_url`.
    #[arg(long)]
    pub base_url: Option<String>,
    /// Override `requests`; replaces `duration`.
    #[arg(long)]
    pub requests: Option<i64>,
    /// Override `warmup` (e.g. 5s).
    #[arg(long)]
    pub warmup: Option<String>,
    /// Override `seed`.
    #[arg(long)]
    pub seed: Option<u64>,
    /// Print the first N URLs the scenario would request, then exit (no traffic).
    #[arg(long, value_name = "N")]
    pub print_urls: Option<usize>,
    /// Folder holding named scenarios.
    #[arg(long, env = "WXFARM_LOADGEN_SCENARIOS")]
    pub scenarios_dir: Option<PathBuf>,
    /// Output options.
    #[command(flatten)]
    pub output: OutputArgs,
}

/// `quick` arguments.
#[derive(Debug, Args)]
pub struct QuickArgs {
    /// Server root.
    #[arg(long, default_value = DEFAULT_BASE_URL)]
    pub base_url: String,
    /// Layer(s) to request; repeat for several (equal weights).
    #[arg(long, required = true)]
    pub layer: Vec<String>,
    /// Measured requests.
    #[arg(long, default_value_t = 200)]
    pub requests: i64,
    /// Closed-loop workers.
    #[arg(long, default_value_t = 8)]
    pub concurrency: i64,
    /// Style.
    #[arg(long, default_value = "gradient")]
    pub style: String,
    /// Minimum zoom.
    #[arg(long, default_value_t = 0)]
    pub min_zoom: u8,
    /// Maximum zoom.
    #[arg(long, default_value_t = 6)]
    pub max_zoom: u8,
    /// Forecast hour(s) drawn at random.
    #[arg(long, default_values_t = [0i64])]
    pub forecast: Vec<i64>,
    /// PRNG seed.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Exit with code 3 when the error rate (0–1) exceeds this.
    #[arg(long, default_value_t = 0.01)]
    pub max_error_rate: f64,
    /// Exit with code 3 when p99 latency (ms) exceeds this.
    #[arg(long)]
    pub max_p99_ms: Option<f64>,
    /// Output options.
    #[command(flatten)]
    pub output: OutputArgs,
}

/// `list` arguments.
#[derive(Debug, Args)]
pub struct ListArgs {
    /// Folder holding scenarios.
    #[arg(long, env = "WXFARM_LOADGEN_SCENARIOS")]
    pub scenarios_dir: Option<PathBuf>,
}

/// The scenarios folder: explicit, else `./loadgen/scenarios`, `./scenarios`,
/// else the one shipped next to this crate's sources.
pub fn scenarios_dir(explicit: Option<&Path>) -> PathBuf {
    if let Some(p) = explicit {
        return p.to_path_buf();
    }
    ["loadgen/scenarios", "scenarios"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.is_dir())
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios"))
}

/// Resolves `--scenario`: an existing path, or `NAME`/`NAME.yaml` in the scenarios folder.
pub fn resolve_scenario(arg: &str, dir: &Path) -> PathBuf {
    let direct = PathBuf::from(arg);
    if direct.is_file() {
        return direct;
    }
    [dir.join(arg), dir.join(format!("{arg}.yaml"))]
        .into_iter()
        .find(|p| p.is_file())
        .unwrap_or(direct)
}

/// Builds the `quick` scenario (random XYZ tiles on the wxfarm XYZ endpoint).
pub fn quick_spec(a: &QuickArgs) -> ScenarioSpec {
    ScenarioSpec {
        name: "quick".into(),
        description: "random XYZ tiles (quick command)".into(),
        base_url: Some(a.base_url.clone()),
        url: "/tiles/{layer}/{style}/{z}/{x}/{y}.png?forecast={forecast}".into(),
        tms: TileMatrixSet::WebMercatorQuad,
        seed: Some(a.seed),
        duration: None,
        requests: Some(a.requests),
        concurrency: Some(a.concurrency),
        rate: None,
        warmup: None,
        timeout: None,
        dimensions: DimensionsSpec {
            forecast: Some(DimValues::List(
                a.forecast.iter().map(|f| Scalar::Int(*f)).collect(),
            )),
            ..Default::default()
        },
        layers: a
            .layer
            .iter()
            .map(|l| LayerSpec {
                name: l.clone(),
                style: Some(a.style.clone()),
                weight: None,
                dimensions: DimensionsSpec::default(),
            })
            .collect(),
        strategy: StrategySpec::Random {
            zoom: ZoomSpec::Range([a.min_zoom, a.max_zoom]),
            bbox: None,
        },
        thresholds: Thresholds {
            max_error_rate: Some(a.max_error_rate),
            max_p99_ms: a.max_p99_ms,
            ..Thresholds::default()
        },
    }
}

/// Parses arguments from the process and runs; returns the exit code.
pub async fn main() -> i32 {
    let cli = Cli::parse();
    match execute(cli).await {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            if e.downcast_ref::<ScenarioError>().is_some() {
                EXIT_CONFIG
            } else {
                EXIT_FAILURE
            }
        }
    }
}

/// Runs a parsed command line; returns the exit code.
pub async fn execute(cli: Cli) -> anyhow::Result<i32> {
    match cli.command {
        Command::List(a) => list(&scenarios_dir(a.scenarios_dir.as_deref())),
        Command::Quick(a) => {
            let scenario = Scenario::from_spec(quick_spec(&a), "quick")?;
            run_and_report(&scenario, &a.output).await
        }
        Command::Run(a) => {
            let dir = scenarios_dir(a.scenarios_dir.as_deref());
            let path = resolve_scenario(&a.scenario, &dir);
            let overrides = Overrides {
                concurrency: a.concurrency,
                duration: a.duration.clone().map(DurationValue::Text),
                rate: a.rate,
                base_url: a.base_url.clone(),
                requests: a.requests,
                warmup: a.warmup.clone().map(DurationValue::Text),
                seed: a.seed,
            };
            let scenario = Scenario::load(&path, &overrides)?;
            if let Some(n) = a.print_urls {
                for r in RequestGenerator::new(&scenario).take(n) {
                    println!("{}", r.url);
                }
                return Ok(0);
            }
            run_and_report(&scenario, &a.output).await
        }
    }
}

fn list(dir: &Path) -> anyhow::Result<i32> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| anyhow::anyhow!("{}: {e}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "yaml" || x == "yml"))
        .collect();
    files.sort();
    println!("scenarios in {}:", dir.display());
    for p in files {
        let file = p
            .file_name()
            .map(|f| f.to_string_lossy().into_owned())
            .unwrap_or_default();
        let text = std::fs::read_to_string(&p).unwrap_or_default();
        match ScenarioSpec::from_yaml(&text, &file) {
            Ok(s) => println!("  {:<18} {}", s.name, s.description),
            Err(e) => println!("  {file:<18} (invalid: {e})"),
        }
    }
    Ok(0)
}

async fn run_and_report(scenario: &Scenario, out: &OutputArgs) -> anyhow::Result<i32> {
    let control = RunControl::default();
    let stopper = control.clone();
    // Ctrl-C stops issuing requests; the partial report is still printed.
    let signal = tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            stopper.request_stop();
        }
    });
    let bar = (!out.quiet && progress::is_tty())
        .then(|| progress::spawn(control.counters.clone(), scenario.stop, scenario.warmup));
    let result = runner::run(scenario, control).await;
    if let Some(b) = bar {
        b.finish();
    }
    signal.abort();
    let report = RunReport::new(scenario, &result?);
    match out.output {
        OutputFormat::Table => print!("{}", report.table()),
        OutputFormat::Json => match &out.out {
            Some(p) => std::fs::write(p, report.to_json() + "\n")?,
            None => println!("{}", report.to_json()),
        },
        OutputFormat::Csv => {
            let path = out
                .out
                .clone()
                .unwrap_or_else(|| PathBuf::from("loadgen-results.csv"));
            report.append_csv(&path)?;
            print!("{}", report.table());
            eprintln!("appended a row to {}", path.display());
        }
    }
    if report.passed {
        Ok(0)
    } else {
        eprintln!("threshold breached");
        Ok(EXIT_THRESHOLD)
    }
}
