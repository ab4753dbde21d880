//! The pages and charts as a reader gets them: escaped text, links that lead somewhere on
//! the page, the sections a run or a sweep needs, the same bytes every time.

mod common;

use reports::charts;
use reports::html::{self, TABLE_ROWS_MAX};
use reports::model::{Distribution, RunPage};
use reports::timeline::ChartError;

/// The values of every `attribute="..."` in a page, in order.
fn attribute_values(html: &str, attribute: &str) -> Vec<String> {
    let opening = format!(" {attribute}=\"");
    html.match_indices(&opening)
        .map(|(at, _)| {
            let value = &html[at + opening.len()..];
            value[..value.find('"').expect("attribute value closed")].to_string()
        })
        .collect()
}

/// Every `href="#x"` has one element with `id="x"`, and no id is used twice.
fn assert_links_resolve(html: &str) {
    let ids = attribute_values(html, "id");
    let mut unique = ids.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), ids.len(), "an id is used twice");
    let fragments: Vec<String> = attribute_values(html, "href")
        .into_iter()
        .filter_map(|href| href.strip_prefix('#').map(str::to_string))
        .collect();
    assert!(!fragments.is_empty(), "the page links nowhere on itself");
    for fragment in fragments {
        assert!(
            ids.contains(&fragment),
            "href=\"#{fragment}\" has no id=\"{fragment}\""
        );
    }
}

/// No script, no external resource, no URL but the SVG namespace.
fn assert_self_contained(html: &str) {
    let lower = html.to_lowercase();
    assert!(!lower.contains("<script"), "a script element");
    assert!(!lower.contains(" src="), "an external resource");
    assert!(!lower.contains("url("), "a CSS resource");
    let without_namespace = lower.replace("xmlns=\"http://www.w3.org/2000/svg\"", "");
    assert!(!without_namespace.contains("http:") && !without_namespace.contains("https:"));
    assert!(!lower.contains("javascript:"));
}

fn fake_timeline() -> Result<String, ChartError> {
    Ok("<?xml version=\"1.0\"?>\n<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"40\" height=\"10\">\
        <a href=\"#op-41\"><rect class=\"op hl\" width=\"4\" height=\"4\"/></a></svg>"
        .to_string())
}

#[test]
fn labels_are_shown_as_text_never_as_markup() {
    let run = html::run_page_with_timeline(&common::run_page(300, true), fake_timeline());
    let sweep = html::sweep_page(&common::sweep_page());
    for page in [&run, &sweep] {
        assert!(page
            .contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;quotes&quot;"));
        assert_self_contained(page);
    }
    // Chart titles are escaped by the SVG writer.
    assert!(sweep.contains("empty: &lt;script&gt;"));
}

#[test]
fn every_link_on_a_page_leads_to_an_element_on_it() {
    let failing = common::run_page(300, true);
    assert_links_resolve(&html::run_page_with_timeline(&failing, fake_timeline()));
    assert_links_resolve(&html::run_page(&failing));
    assert_links_resolve(&html::run_page(&common::run_page(300, false)));
    assert_links_resolve(&html::sweep_page(&common::sweep_page()));
    assert_links_resolve(&html::history_page(&common::history_page()));
}

#[test]
fn a_history_page_marks_the_failing_key_and_its_evidence() {
    let html = html::history_page(&common::history_page());
    assert!(html.contains("<span class=\"badge violation\">not linearizable</span>"));
    assert!(!html.contains("<script>"), "labels are escaped");
    // The failing key comes first, with its zoom; the linearizable one has no zoom.
    let k1 = html.find("id=\"key-0\"").unwrap();
    let k2 = html.find("id=\"key-1\"").unwrap();
    assert!(html[k1..k2].contains("key k1: not linearizable"));
    assert!(html[k1..k2].contains("Around the failure"));
    assert!(!html[k2..].contains("Around the failure"));
    assert!(html.contains("<tr id=\"op-1\" class=\"minimal\">"));
    // The op that never returned is a dashed line, and its row says so.
    assert!(html.contains("class=\"op unknown\""));
    assert!(html.contains("<td>never</td>"));
}

#[test]
fn a_violation_page_names_it_and_links_to_its_evidence() {
    let page = common::run_page(300, true);
    let html = html::run_page_with_timeline(&page, fake_timeline());
    assert!(html.contains("<span class=\"badge violation\">violation</span>"));
    assert!(html.contains("linearizability: key k3 is not linearizable"));
    assert!(
        html.contains("raftsim run scenarios/figure8.toml --seed 7 --mutation read-without-quorum")
    );
    assert!(html.contains("Detected at 4.200 s."));
    for seq in common::NAMED_EVENTS {
        assert!(
            html.contains(&format!("<a href=\"#event-{seq}\">")),
            "event {seq}"
        );
        assert!(html.contains(&format!("<tr id=\"event-{seq}\" class=\"named\">")));
    }
    for id in common::HIGHLIGHTED {
        assert!(html.contains(&format!("<a href=\"#op-{id}\">")), "op {id}");
        assert!(html.contains(&format!("<tr id=\"op-{id}\" class=\"hl\">")));
    }
    assert!(html.contains("The smallest set of operations that is still not linearizable"));
    // The sections come in the order a reader needs them.
    let order = [
        "id=\"reproduce\"",
        "id=\"summary\"",
        "id=\"violations\"",
        "id=\"timeline\"",
        "id=\"failing-history\"",
        "id=\"history\"",
        "id=\"events\"",
    ];
    let positions: Vec<usize> = order.iter().map(|s| html.find(s).expect(s)).collect();
    assert!(positions.windows(2).all(|w| w[0] < w[1]), "{positions:?}");
}

#[test]
fn the_timeline_is_inlined_or_replaced_by_a_note() {
    let page = common::run_page(300, true);
    let drawn = html::run_page_with_timeline(&page, fake_timeline());
    assert!(drawn.contains("<a href=\"#op-41\"><rect class=\"op hl\""));
    assert!(!drawn.contains("<?xml"), "an XML declaration inside HTML");
    let failed = html::run_page_with_timeline(&page, Err(ChartError::Draw("out of <ink>".into())));
    assert!(failed.contains("The timeline could not be drawn: drawing failed: out of &lt;ink&gt;."));
    let not_svg = html::run_page_with_timeline(&page, Ok("<p>hi</p>".to_string()));
    assert!(not_svg.contains("the chart is not an SVG document"));
    assert!(!not_svg.contains("<p>hi</p>"));
}

#[test]
fn a_passing_page_has_no_violation_section() {
    let html = html::run_page(&common::run_page(300, false));
    assert!(html.contains("<span class=\"badge pass\">pass</span>"));
    assert!(!html.contains("id=\"violations\""));
    assert!(!html.contains("id=\"failing-history\""));
    assert!(!html.contains("class=\"hl\""));
    assert!(html.contains("id=\"op-299\""));
}

#[test]
fn a_long_history_keeps_its_ends_and_its_evidence_and_says_what_it_left_out() {
    let total = 12_000;
    let mut page = common::run_page(total, true);
    page.history[6000].highlighted = true;
    page.violations[0].ops.push(6000);
    page.violations[0].ops.push(total + 5); // an op not in the history at all
    let html = html::run_page(&page);
    assert_links_resolve(&html);
    let rows = html.matches("<tr id=\"op-").count();
    assert_eq!(
        rows,
        2000 + 1 + common::HIGHLIGHTED.iter().filter(|&&id| id >= 1000).count()
    );
    assert!(rows <= TABLE_ROWS_MAX);
    assert!(
        html.contains("id=\"op-0\"")
            && html.contains("id=\"op-11999\"")
            && html.contains("id=\"op-6000\"")
    );
    assert!(!html.contains("id=\"op-5999\""));
    assert!(html.contains("Showing 2,001 of 12,000 operations"));
    assert!(html.contains("… 4,999 rows left out …"));
    assert!(html.contains(&format!(
        "<span class=\"absent\" title=\"not in the tables on this page\">op {}</span>",
        total + 5
    )));
}

#[test]
fn a_sweep_page_links_failing_runs_to_their_pages() {
    let html = html::sweep_page(&common::sweep_page());
    assert!(html.contains("<span class=\"badge violation\">3 failing runs</span>"));
    assert!(html.contains("<a href=\"runs/seed-7/index.html\">open</a>"));
    assert_eq!(
        html.matches(">open</a>").count(),
        1,
        "only relative pages are linked"
    );
    assert!(html.contains("raftsim run scenarios/figure8.toml --seed 23"));
    assert!(html.contains("raftsim sweep scenarios/figure8.toml --seeds 1..200"));
    assert!(html.contains("leader-stepped-down"));
    assert!(html.find("leader-stepped-down") < html.find("vote-refused-log-behind"));
    // A histogram and a CDF per distribution, and the bars.
    assert_eq!(html.matches("<figure class=\"chart\">").count(), 2 * 2 + 1);
    assert!(html.contains("no samples"));
}

#[test]
fn the_same_input_gives_the_same_bytes() {
    let run = common::run_page(300, true);
    assert_eq!(html::run_page(&run), html::run_page(&run.clone()));
    let sweep = common::sweep_page();
    assert_eq!(html::sweep_page(&sweep), html::sweep_page(&sweep.clone()));
}

#[test]
fn reports_are_written_as_index_html_in_a_new_directory() {
    let dir = std::env::temp_dir().join(format!("raftsim-reports-test-{}", std::process::id()));
    let run = common::run_page(50, true);
    let path = html::write_run_report(dir.join("run/a"), &run).unwrap();
    assert_eq!(path, dir.join("run/a/index.html"));
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        html::run_page(&run)
    );
    let sweep = common::sweep_page();
    let path = html::write_sweep_report(dir.join("sweep"), &sweep).unwrap();
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        html::sweep_page(&sweep)
    );
    std::fs::remove_dir_all(&dir).unwrap();
    let blocked = std::env::temp_dir().join(format!("raftsim-reports-file-{}", std::process::id()));
    std::fs::write(&blocked, "a file, not a directory").unwrap();
    assert!(html::write_run_report(&blocked, &run).is_err());
    std::fs::remove_file(&blocked).unwrap();
    assert!(html::write_run_report(dir.join("x"), &RunPage::default()).is_ok());
    std::fs::remove_dir_all(&dir).unwrap();
}

fn distribution(values: Vec<f64>) -> Distribution {
    Distribution {
        title: "election time".to_string(),
        unit: "ms".to_string(),
        values,
    }
}

#[test]
fn a_histogram_draws_one_bar_per_bin() {
    // 1..=100: interquartile range 49.5, so bins of 2 * 49.5 / 100^(1/3) ≈ 21.3, rounded to
    // 20, from 0: five bins, none empty.
    let known =
        charts::histogram_svg(&distribution((1..=100).map(f64::from).collect()), 640, 380).unwrap();
    let one = charts::histogram_svg(&distribution(vec![5.0]), 640, 380).unwrap();
    assert!(
        known.contains("n = 100 · median 50.5 ms · p99 99.01 ms · max 100 ms · 5 bins of 20 ms"),
        "{known}"
    );
    assert!(one.contains("1 bins of"));
    assert_eq!(
        known.matches("<rect").count() - one.matches("<rect").count(),
        5 - 1
    );
}

/// The number of points on the longest polyline of an SVG.
fn longest_polyline_points(svg: &str) -> usize {
    attribute_values(svg, "points")
        .iter()
        .map(|points| points.split_whitespace().count())
        .max()
        .unwrap_or(0)
}

#[test]
fn a_cdf_steps_once_per_value_and_marks_its_percentiles() {
    let values = vec![3.0, 1.0, 4.0, 1.0, 5.0, 9.0, 2.0];
    let svg = charts::cdf_svg(&distribution(values), 640, 380).unwrap();
    assert_eq!(longest_polyline_points(&svg), 2 * 7);
    assert!(
        svg.contains("p50 3 ms") && svg.contains("p90 6.6 ms") && svg.contains("p99 8.76 ms"),
        "{svg}"
    );
    let many =
        charts::cdf_svg(&distribution((0..5000).map(f64::from).collect()), 640, 380).unwrap();
    assert_eq!(longest_polyline_points(&many), charts::CDF_POINTS_MAX + 1);
}

#[test]
fn empty_and_non_finite_samples_give_a_note_not_a_panic() {
    for values in [vec![], vec![f64::NAN, f64::INFINITY]] {
        let skipped = values.len();
        for svg in [
            charts::histogram_svg(&distribution(values.clone()), 640, 380).unwrap(),
            charts::cdf_svg(&distribution(values.clone()), 640, 380).unwrap(),
        ] {
            assert!(svg.contains("no samples"), "{svg}");
            assert_eq!(
                svg.contains(&format!("({skipped} non-finite values skipped)")),
                skipped > 0
            );
        }
    }
    let mixed = charts::histogram_svg(
        &distribution(vec![1.0, f64::NAN, 2.0, f64::NEG_INFINITY]),
        640,
        380,
    )
    .unwrap();
    assert!(mixed.contains("n = 2 ·") && mixed.contains("2 non-finite skipped"));
    let bars = charts::bars_svg("failures", &[], 640, 200).unwrap();
    assert!(bars.contains("nothing to show"));
    assert!(charts::histogram_svg(&distribution(vec![1.0]), 10, 10).is_err());
    let huge = charts::histogram_svg(&distribution(vec![-f64::MAX, f64::MAX]), 640, 380);
    assert!(huge.is_err());
}

#[test]
fn bars_are_one_per_name_up_to_the_limit() {
    let few: Vec<(String, u64)> = vec![
        ("linearizability".into(), 12),
        ("election safety".into(), 3),
    ];
    let many: Vec<(String, u64)> = (0..60).map(|i| (format!("invariant {i}"), i)).collect();
    let one = charts::bars_svg("failures", &few[..1], 640, 300).unwrap();
    let two = charts::bars_svg("failures", &few, 640, 300).unwrap();
    let capped = charts::bars_svg("failures", &many, 640, 1600).unwrap();
    assert_eq!(
        two.matches("<rect").count() - one.matches("<rect").count(),
        1
    );
    assert!(two.contains(">\nlinearizability\n<") && two.contains(">\n12\n<"));
    // Bars of 0 draw nothing: invariant 0 has none.
    assert_eq!(
        capped.matches("<rect").count() - one.matches("<rect").count(),
        charts::BARS_MAX - 2
    );
    assert!(capped.contains("60 bars · total 1770 · the first 40 shown"));
    assert!(!capped.contains("invariant 40"));
}
