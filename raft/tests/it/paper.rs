//! One test per script in `testdata/`, and a test that the list below and the directory agree,
//! so that a missing directory, an empty one, or a script nobody runs fails.

use crate::datadriven::{run_file, testdata_dir};

macro_rules! scripts {
    ($($name:ident),* $(,)?) => {
        $(
            #[test]
            fn $name() {
                run_file(stringify!($name));
            }
        )*
        const SCRIPTS: &[&str] = &[$(stringify!($name)),*];
    };
}

scripts!(
    s5_1_terms,
    s5_2_election,
    s5_2_election_5_nodes,
    s5_2_split_vote,
    s5_2_one_vote_per_term,
    s5_3_replication,
    s5_3_consistency_check,
    s5_3_figure7,
    s5_3_long_repair,
    s5_3_backtracking,
    s5_3_proposals,
    s5_3_flow_control,
    s5_4_1_vote_restriction,
    s5_4_2_figure8,
    s5_4_2_figure8_d,
    s5_4_2_figure8_mutation,
    s6_joint_consensus,
    s6_joint_quorum,
    s6_leader_removal,
    s6_rollback,
    s6_change_abandoned,
    s7_catch_up,
    s7_install_snapshot,
    s7_snapshot_restart,
    durability,
    robustness,
);

#[test]
fn every_script_is_run() {
    let dir = testdata_dir();
    let entries =
        std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()));
    let mut found: Vec<String> = entries
        .map(|e| e.expect("read testdata entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "txt"))
        .map(|p| p.file_stem().unwrap().to_string_lossy().into_owned())
        .collect();
    found.sort();
    assert!(!found.is_empty(), "no scripts in {}", dir.display());
    let mut listed: Vec<String> = SCRIPTS.iter().map(|s| s.to_string()).collect();
    listed.sort();
    assert_eq!(
        found,
        listed,
        "the scripts in {} and the list in paper.rs differ",
        dir.display()
    );
}
