//! The pages as a browser shows them: Debian's Chromium, headless, opens a run page (with a
//! violation and a few hundred operations) and a sweep page from disk, takes a screenshot
//! and dumps the DOM it built. A page passes if Chromium exits cleanly, the screenshot is a
//! real picture (many colors, not blank), no console message was logged (the pages have no
//! script: any message means something went wrong), and the parsed DOM holds what the page
//! means to show, with no script element in it.
//!
//! Needs `/usr/bin/chromium` (`apt-get install -y chromium`), hence the feature:
//! `cargo test -p reports --features browser-test --test browser`.

#![cfg(feature = "browser-test")]

mod common;

use std::collections::BTreeSet;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use reports::html;

const CHROMIUM: &str = "/usr/bin/chromium";
/// Chromium is killed (with every process it started) past this.
const CHROMIUM_TIMEOUT: Duration = Duration::from_secs(60);
const POLL_INTERVAL: Duration = Duration::from_millis(50);
const WINDOW_WIDTH_PX: u32 = 1400;
const WINDOW_HEIGHT_PX: u32 = 1000;

/// A directory of its own for one test, removed when the test passes.
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Scratch {
        let dir =
            std::env::temp_dir().join(format!("raftsim-browser-{name}-{}", std::process::id()));
        // A directory left by a failed run of the same process id would mix profiles.
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("a scratch directory");
        Scratch(dir)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        // Kept after a failure, for a look at the page, the screenshot and Chromium's log.
        if !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

/// What one Chromium run left.
struct Run {
    status: ExitStatus,
    stdout: String,
    stderr: String,
}

/// Runs Chromium on `page` with a fresh profile and `extra` flags. Output goes to files, not
/// pipes: a DOM dump is larger than a pipe's buffer and would block Chromium.
fn chromium(scratch: &Path, name: &str, page: &Path, extra: &[String]) -> Run {
    let profile = scratch.join(format!("profile-{name}"));
    let stdout_path = scratch.join(format!("{name}.stdout"));
    let stderr_path = scratch.join(format!("{name}.stderr"));
    let mut command = Command::new(CHROMIUM);
    command
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
            "--enable-logging=stderr",
            "--v=0",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg(format!(
            "--window-size={WINDOW_WIDTH_PX},{WINDOW_HEIGHT_PX}"
        ))
        .args(extra)
        .arg(format!("file://{}", page.display()))
        .stdin(Stdio::null())
        .stdout(File::create(&stdout_path).expect("a stdout file"))
        .stderr(File::create(&stderr_path).expect("a stderr file"));
    // A group of its own, so that a timeout kills the renderer and GPU processes too.
    std::os::unix::process::CommandExt::process_group(&mut command, 0);
    let mut child = command
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {CHROMIUM} (apt-get install -y chromium): {e}"));
    let status = wait_at_most(&mut child, CHROMIUM_TIMEOUT);
    Run {
        status,
        stdout: std::fs::read_to_string(&stdout_path).expect("chromium's stdout"),
        stderr: std::fs::read_to_string(&stderr_path).expect("chromium's stderr"),
    }
}

fn wait_at_most(child: &mut std::process::Child, timeout: Duration) -> ExitStatus {
    let start = Instant::now();
    let polls_max = timeout.as_millis() / POLL_INTERVAL.as_millis() + 1;
    for _ in 0..polls_max {
        if let Some(status) = child.try_wait().expect("waiting for chromium") {
            return status;
        }
        if start.elapsed() >= timeout {
            break;
        }
        std::thread::sleep(POLL_INTERVAL);
    }
    let group = format!("-{}", child.id());
    let _ = Command::new("kill").args(["-KILL", "--", &group]).status();
    let _ = child.kill();
    let _ = child.wait();
    panic!("chromium ran more than {} s: killed", timeout.as_secs());
}

/// Lines of Chromium's log that are console messages or uncaught errors. Headless Chromium
/// logs every console message as `INFO:CONSOLE`, whatever its level, so the level cannot
/// tell an error from a log line; the pages run no script, so any console line is a fault.
fn console_lines(stderr: &str) -> Vec<&str> {
    stderr
        .lines()
        .filter(|line| line.contains(":CONSOLE") || line.contains("Uncaught"))
        .collect()
}

/// The screenshot's size, number of distinct colors and share of pixels that are not white.
fn picture_stats(png_path: &Path) -> (u32, u32, usize, f64) {
    let file = File::open(png_path).expect("chromium wrote the screenshot");
    let mut reader = png::Decoder::new(file).read_info().expect("a PNG header");
    let mut pixels = vec![0; reader.output_buffer_size()];
    let frame = reader.next_frame(&mut pixels).expect("PNG pixels");
    assert_eq!(frame.bit_depth, png::BitDepth::Eight, "an 8-bit screenshot");
    let channels = match frame.color_type {
        png::ColorType::Rgb => 3,
        png::ColorType::Rgba => 4,
        other => panic!("a screenshot in {other:?}"),
    };
    let bytes = &pixels[..frame.buffer_size()];
    let mut colors = BTreeSet::new();
    let mut not_white = 0usize;
    for pixel in bytes.chunks_exact(channels) {
        let rgb = [pixel[0], pixel[1], pixel[2]];
        if rgb != [255, 255, 255] {
            not_white += 1;
        }
        colors.insert(rgb);
    }
    let total = bytes.len() / channels;
    (
        frame.width,
        frame.height,
        colors.len(),
        not_white as f64 / total as f64,
    )
}

/// Screenshots `page` and checks the picture and the log.
fn assert_renders(scratch: &Path, name: &str, page: &Path) {
    let screenshot = scratch.join(format!("{name}.png"));
    let run = chromium(
        scratch,
        name,
        page,
        &[format!("--screenshot={}", screenshot.display())],
    );
    assert!(
        run.status.success(),
        "chromium failed on {name}: {}\n{}",
        run.status,
        run.stderr
    );
    let console = console_lines(&run.stderr);
    assert!(
        console.is_empty(),
        "console messages on {name}:\n{}",
        console.join("\n")
    );
    let (width_px, height_px, colors, not_white) = picture_stats(&screenshot);
    assert_eq!((width_px, height_px), (WINDOW_WIDTH_PX, WINDOW_HEIGHT_PX));
    assert!(colors > 16, "{name}: only {colors} colors: a blank page?");
    assert!(
        not_white > 0.02,
        "{name}: {:.1}% of pixels are not white",
        not_white * 100.0
    );
}

/// The DOM Chromium built from `page`, after it checked the log.
fn dom_of(scratch: &Path, name: &str, page: &Path) -> String {
    let run = chromium(scratch, name, page, &["--dump-dom".to_string()]);
    assert!(
        run.status.success(),
        "chromium failed on {name}: {}\n{}",
        run.status,
        run.stderr
    );
    let console = console_lines(&run.stderr);
    assert!(
        console.is_empty(),
        "console messages on {name}:\n{}",
        console.join("\n")
    );
    assert!(run.stdout.contains("</html>"), "no DOM dumped for {name}");
    run.stdout
}

#[test]
fn a_run_page_renders_cleanly_and_parses_as_written() {
    let scratch = Scratch::new("run");
    let page = common::run_page(300, true);
    let path = html::write_run_report(scratch.0.join("report"), &page).expect("the page");
    assert_renders(&scratch.0, "run-screenshot", &path);
    let dom = dom_of(&scratch.0, "run-dom", &path);
    assert!(
        !dom.to_lowercase().contains("<script"),
        "a script element in the DOM"
    );
    assert!(
        dom.contains("&lt;script&gt;alert('x')&lt;/script&gt;"),
        "the label as text"
    );
    assert!(dom.contains("linearizability: key k3 is not linearizable"));
    // Every row made it into a table: nothing swallowed by a stray tag.
    let source = std::fs::read_to_string(&path).expect("the page");
    for anchor in ["<tr id=\"op-", "<tr id=\"event-"] {
        assert_eq!(
            dom.matches(anchor).count(),
            source.matches(anchor).count(),
            "{anchor}"
        );
    }
    assert_eq!(source.matches("<tr id=\"op-").count(), 300);
}

#[test]
fn a_history_page_renders_cleanly_with_a_chart_per_key_and_the_failure_zoomed() {
    let scratch = Scratch::new("history");
    let path = html::write_history_report(scratch.0.join("report"), &common::history_page())
        .expect("the page");
    assert_renders(&scratch.0, "history-screenshot", &path);
    let dom = dom_of(&scratch.0, "history-dom", &path);
    assert!(
        !dom.to_lowercase().contains("<script"),
        "a script element in the DOM"
    );
    assert!(
        dom.contains("&lt;script&gt;alert('x')&lt;/script&gt;"),
        "the label as text"
    );
    // k1: its chart and the zoom around its failure; k2: its chart only.
    assert_eq!(dom.matches("<svg").count(), 3);
    assert_eq!(
        dom.matches("class=\"op minimal\"").count(),
        2,
        "in both of k1's charts"
    );
    assert!(dom.contains("class=\"stuck\""));
    assert_eq!(
        dom.matches("<tr id=\"op-").count(),
        6,
        "every operation in a table"
    );
    assert!(
        dom.contains("in the minimal failing sub-history"),
        "hover details"
    );
}

#[test]
fn a_sweep_page_renders_cleanly_with_its_charts() {
    let scratch = Scratch::new("sweep");
    let path = html::write_sweep_report(scratch.0.join("report"), &common::sweep_page())
        .expect("the page");
    assert_renders(&scratch.0, "sweep-screenshot", &path);
    let dom = dom_of(&scratch.0, "sweep-dom", &path);
    assert!(
        !dom.to_lowercase().contains("<script"),
        "a script element in the DOM"
    );
    assert_eq!(
        dom.matches("<svg").count(),
        5,
        "two charts per distribution and the bars"
    );
    assert!(dom.contains("<a href=\"runs/seed-7/index.html\">open</a>"));
}

/// The console check is only worth something if it sees an error on this Chromium: a page
/// that throws must be caught.
#[test]
fn the_console_check_catches_a_script_error() {
    let scratch = Scratch::new("console");
    let path = scratch.0.join("throws.html");
    std::fs::write(
        &path,
        "<!DOCTYPE html><html><body><p>x</p><script>throw new Error('x')</script></body></html>",
    )
    .expect("a page");
    let run = chromium(&scratch.0, "throws", &path, &["--dump-dom".to_string()]);
    assert!(run.status.success(), "{}", run.stderr);
    let console = console_lines(&run.stderr);
    assert!(
        console
            .iter()
            .any(|line| line.contains("Uncaught Error: x")),
        "the thrown error is not in chromium's log:\n{}",
        run.stderr
    );
}
