//! Runs the fake OpenAI-compatible endpoint on 127.0.0.1 until killed: for trying
//! postcall without a model, and for the benchmark.

use std::time::Duration;

use postcall_testkit::fake_llm::{FakeConfig, FakeServer};
use postcall_testkit::hostile::{Oversize, Redirect};

fn main() {
    let mut config = FakeConfig::default();
    let mut port = 0u16;
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let mut value = || args.next().unwrap_or_else(|| die(&format!("{flag} needs a value")));
        match flag.as_str() {
            "--port" => port = value().parse().unwrap_or_else(|_| die("--port takes a number")),
            "--latency-ms" => config.latency = Duration::from_millis(number(&value())),
            "--jitter-ms" => config.jitter = Duration::from_millis(number(&value())),
            "--error-rate" => config.rate_5xx = fraction(&value()),
            "--rate-limit" => config.rate_limit = Some(fraction_or_rate(&value())),
            "--malformed-rate" => config.rate_malformed = fraction(&value()),
            "--seed" => config.seed = number(&value()),
            "--endless-body" => config.hostile.oversize = Some(Oversize::Endless),
            "--redirect-to" => {
                config.hostile.redirect = Some(Redirect {
                    status: 307,
                    location: value(),
                })
            }
            "-h" | "--help" => {
                println!(
                    "postcall-fake-llm [--port P] [--latency-ms MS] [--jitter-ms MS] [--error-rate F] [--rate-limit RPS] [--malformed-rate F] [--seed N] [--endless-body] [--redirect-to URL]"
                );
                return;
            }
            other => die(&format!("unknown flag {other}; see --help")),
        }
    }
    let server =
        FakeServer::start_on(config, port).unwrap_or_else(|e| die(&format!("cannot listen on 127.0.0.1:{port}: {e}")));
    println!("{}", server.base_url());
    loop {
        std::thread::sleep(Duration::from_secs(3600));
    }
}

fn number(s: &str) -> u64 {
    s.parse().unwrap_or_else(|_| die(&format!("`{s}` is not a number")))
}

fn fraction(s: &str) -> f64 {
    s.parse::<f64>()
        .ok()
        .filter(|f| (0.0..=1.0).contains(f))
        .unwrap_or_else(|| die(&format!("`{s}` is not a fraction 0..1")))
}

fn fraction_or_rate(s: &str) -> f64 {
    s.parse::<f64>()
        .ok()
        .filter(|f| *f > 0.0)
        .unwrap_or_else(|| die(&format!("`{s}` is not a positive rate")))
}

fn die(message: &str) -> ! {
    eprintln!("postcall-fake-llm: {message}");
    std::process::exit(2);
}
