//! The results at a glance: a small real comparison writes `summary.png` and a self-contained
//! `report.html` (its tables, every plot embedded, nothing loaded from elsewhere), rendering
//! the directory again gives the same bytes, the shipped results directories render too, and
//! headless Chromium draws the page (skipped without Chromium unless
//! `MULTIREWARD_REQUIRE_CHROMIUM` is set, as in CI).

mod common;

use multireward::device::default_device;
use multireward::experiment::{
    Budget, Comparison, ComparisonConfig, HTML_FILE, SUMMARY_FILE, StrategyKind, Task, rerender,
};
use multireward::reward::{FnReward, RewardSet, Sample};
use multireward::tasks::molecules::SmilesTokenizer;
use multireward::tokenizer::Tokenizer;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

fn rewards() -> RewardSet {
    let count = |c: char| move |s: &Sample| Some(s.completion.matches(c).count() as f64);
    RewardSet::builder()
        .add(FnReward::new("nitrogen", count('N')), 1.0)
        .add(FnReward::new("oxygen", count('O')), 1.0)
        .build()
        .unwrap()
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("mr-html-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

/// The results directory of IterativeRS, MORLHF and Rewarded Soups, 2 seeds each, 4 PPO
/// iterations of 8 samples at a learning rate high enough to move the tiny policy, 32
/// evaluation samples, evaluated along the runs too (so it has `reward_kl.png`); run
/// once for all the tests of this file.
fn results_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = scratch("comparison");
        let device = default_device().autodiff();
        device.seed(3);
        let tok = SmilesTokenizer::from_corpus(["C", "N", "O"]).unwrap();
        let reference = common::tiny_gpt(tok.vocab_size(), 16).init(&device);
        let task = Task::new(reference, &tok, rewards(), rewards());
        let budget = Budget::new(4, 8)
            .with_merge_every(1)
            .with_max_new_tokens(6)
            .with_updates(1, 1);
        let config = ComparisonConfig::new(budget, 32)
            .with_lr(1e-2)
            .with_strategies(vec![
                StrategyKind::IterativeRs,
                StrategyKind::Morlhf,
                StrategyKind::RewardedSoups,
            ])
            .with_seeds(2)
            .with_curve(true);
        Comparison::new(task, config)
            .unwrap()
            .with_progress(false)
            .run(&dir)
            .unwrap();
        dir
    })
}

/// Width, height and RGB(A) pixels of a PNG.
fn decode(path: &Path) -> (u32, u32, Vec<u8>, usize) {
    let file = std::fs::File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut reader = png::Decoder::new(file).read_info().unwrap();
    let mut pixels = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut pixels).unwrap();
    pixels.truncate(info.buffer_size());
    (info.width, info.height, pixels, info.color_type.samples())
}

/// Every `src="…"` and `href="…"` of `html` is a PNG data URI, and nothing else loads.
fn assert_self_contained(html: &str) {
    for attribute in ["src=\"", "href=\"", "src='", "href='"] {
        for (at, _) in html.match_indices(attribute) {
            let value = &html[at + attribute.len()..];
            assert!(
                value.starts_with("data:image/png;base64,"),
                "{attribute}{}",
                &value[..value.len().min(80)]
            );
        }
    }
    for external in ["<link", "<script", "url(", "@import", "http://", "https://"] {
        assert!(!html.contains(external), "report.html contains {external}");
    }
}

#[test]
fn a_comparison_writes_a_self_contained_report_that_renders_again_identically() {
    let dir = results_dir();
    let html_path = dir.join(HTML_FILE);
    let html = std::fs::read_to_string(&html_path).unwrap();
    let summary = std::fs::read(dir.join(SUMMARY_FILE)).unwrap();
    let (w, h, _, _) = decode(&dir.join(SUMMARY_FILE));
    // Two objectives and the reward–KL panel: two panels per row.
    assert!(w == 1200 && h > 800, "{w} × {h}");
    // The table of results.md, and every PNG of the directory embedded, the summary first.
    let md = std::fs::read_to_string(dir.join("results.md")).unwrap();
    assert!(md.contains("![reward against KL](reward_kl.png)"), "{md}");
    assert!(
        html.contains("<table>") && html.contains("<th>Method</th>"),
        "{html:.2000}"
    );
    assert!(html.contains("<td>MORLHF</td>") && html.contains("<td>Pretrained</td>"));
    // Each PNG once: the summary and the scatter plot as figures, reward_kl.png where
    // results.md shows it.
    let pngs = ["summary.png", "scatter.png", "reward_kl.png"];
    assert!(pngs.iter().all(|png| dir.join(png).is_file()));
    assert!(html.contains("summary.png:") && html.contains("scatter.png:"));
    assert!(html.contains("alt=\"reward against KL\""));
    assert_eq!(html.matches("data:image/png;base64,").count(), pngs.len());
    let at = |s: &str| html.find(s).unwrap_or_else(|| panic!("{s}"));
    assert!(at("summary.png:") < at("<table>"));
    assert!(
        html.contains("<title>IterativeRS, MORLHF, Rewarded Soups on nitrogen, oxygen</title>")
    );
    assert_self_contained(&html);

    let files = rerender(dir).unwrap();
    assert_eq!(
        (files.html, files.summary.clone()),
        (html_path.clone(), dir.join(SUMMARY_FILE))
    );
    assert_eq!(std::fs::read_to_string(&html_path).unwrap(), html);
    assert_eq!(std::fs::read(&files.summary).unwrap(), summary);
}

#[test]
fn the_shipped_results_directories_render() {
    let shipped = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/results");
    for name in ["molecules", "curves-dna-grid", "ablation-dna"] {
        let dir = scratch(name);
        std::fs::create_dir_all(&dir).unwrap();
        let mut pngs = vec!["summary.png".to_string()];
        for entry in std::fs::read_dir(shipped.join(name)).unwrap() {
            let file = entry.unwrap().file_name().to_string_lossy().into_owned();
            if file.ends_with(".png") || file.starts_with("results.") {
                std::fs::copy(shipped.join(name).join(&file), dir.join(&file)).unwrap();
            }
            if file.ends_with(".png") {
                pngs.push(file);
            }
        }
        let files = rerender(&dir).unwrap_or_else(|e| panic!("{name}: {e}"));
        let html = std::fs::read_to_string(&files.html).unwrap();
        assert_self_contained(&html);
        assert_eq!(
            html.matches("data:image/png;base64,").count(),
            pngs.len(),
            "{name}"
        );
        assert!(html.contains("<td>Pretrained</td>"), "{name}");
        if name == "molecules" {
            let title = "<title>IterativeRS, MORLHF, Rewarded Soups, RiC on alpha, gap, u0</title>";
            assert!(html.contains(title), "{html:.1000}");
            // The report before any run: the pretrained policy alone.
            let json = dir.join("results.json");
            let mut report: serde_json::Value =
                serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
            report["results"].as_array_mut().unwrap().truncate(1);
            report["metadata"]["metrics"]
                .as_array_mut()
                .unwrap()
                .truncate(1);
            std::fs::write(&json, serde_json::to_vec(&report).unwrap()).unwrap();
            let html = std::fs::read_to_string(rerender(&dir).unwrap().html).unwrap();
            assert!(html.contains("<title>Pretrained on alpha, gap, u0</title>"));
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
}

/// Headless Chromium, or `None` (after saying so) when it is not installed and not required.
fn chromium() -> Option<PathBuf> {
    let found = ["chromium", "chromium-browser"].iter().find_map(|name| {
        let path = std::env::var_os("PATH")?;
        std::env::split_paths(&path)
            .map(|dir| dir.join(name))
            .find(|p| p.is_file())
    });
    if found.is_none() {
        let msg = "Chromium is not installed (Debian: apt-get install chromium)";
        if std::env::var_os("MULTIREWARD_REQUIRE_CHROMIUM").is_some() {
            panic!("{msg}, and MULTIREWARD_REQUIRE_CHROMIUM is set");
        }
        eprintln!("skipping the browser check: {msg}");
    }
    found
}

#[test]
fn chromium_draws_the_report() {
    let Some(browser) = chromium() else {
        return;
    };
    let dir = results_dir();
    let shot = scratch("screenshot").with_extension("png");
    let profile = scratch("chromium-profile");
    let mut child = Command::new(&browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg(format!("--screenshot={}", shot.display()))
        .arg("--window-size=1280,2000")
        .arg(format!("file://{}", dir.join(HTML_FILE).display()))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if start.elapsed() > Duration::from_secs(180) {
            child.kill().unwrap();
            panic!("{} took over 3 minutes", browser.display());
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    let output = child.wait_with_output().unwrap();
    let _ = std::fs::remove_dir_all(&profile);
    let log = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success() && shot.is_file(), "{log}");
    let (w, h, pixels, channels) = decode(&shot);
    assert_eq!((w, h), (1280, 2000));
    // Not blank: many pixels are not the white page, in many colours (plots, table, text).
    let px: Vec<&[u8]> = pixels.chunks(channels).collect();
    let inked = px.iter().filter(|p| p[..3] != [255, 255, 255]).count();
    let mut colours: Vec<&[u8]> = px.iter().map(|p| &p[..3]).collect();
    colours.sort_unstable();
    colours.dedup();
    assert!(
        inked > px.len() / 50 && colours.len() > 50,
        "{inked} {}",
        colours.len()
    );
    println!("screenshot: {}", shot.display());
}
