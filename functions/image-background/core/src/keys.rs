//! The S3 key layout of an image job, in one place.
//!
//! | what                 | bucket     | key                                                  |
//! |----------------------|------------|------------------------------------------------------|
//! | source images        | upload     | anywhere (`uploads/<jobId>/<file>` by `mlpipe images run`) |
//! | manifest             | upload     | `<JOBS_PREFIX><jobId>.json` ([`manifest_key`])       |
//! | rejected manifest    | upload     | `<FAILED_PREFIX><manifest key>.error.json` ([`reason_key`]) |
//! | Distributed Map items| upload     | `<ITEMS_PREFIX><jobId>.json` ([`items_key`])         |
//! | generated images     | generated  | `<GENERATED_PREFIX><jobId>/<image key>/<n>.png` ([`output_key`]) |
//! | reports              | report     | `<REPORT_PREFIX><jobId>/report.{json,csv,html}` ([`report_key`]) |
//!
//! The prefixes are the functions' settings; the `DEFAULT_*` constants are their defaults.

use super::job_id::{JobId, JobIdError};

/// Default `JOBS_PREFIX` (start-image-job): manifests directly below it start jobs.
pub const DEFAULT_JOBS_PREFIX: &str = "jobs/";
/// Default `ITEMS_PREFIX` (start-image-job).
pub const DEFAULT_ITEMS_PREFIX: &str = "items/";
/// Default `FAILED_PREFIX` (start-image-job).
pub const DEFAULT_FAILED_PREFIX: &str = "failed/";
/// Default `GENERATED_PREFIX` (generate-background).
pub const DEFAULT_GENERATED_PREFIX: &str = "generated/";
/// Default `REPORT_PREFIX` (image-job-report).
pub const DEFAULT_REPORT_PREFIX: &str = "reports/";
/// Where `mlpipe images run` uploads a job's images, and detect-labels' default `KEY_PREFIX`.
pub const DEFAULT_UPLOADS_PREFIX: &str = "uploads/";
/// The report files, in the order they are written.
pub const REPORT_FILES: [&str; 3] = ["report.json", "report.csv", "report.html"];

/// `s3://bucket/key`.
pub fn s3_uri(bucket: &str, key: &str) -> String {
    format!("s3://{bucket}/{key}")
}

/// `<jobs_prefix><jobId>.json`.
pub fn manifest_key(jobs_prefix: &str, job_id: &JobId) -> String {
    format!("{jobs_prefix}{job_id}.json")
}

/// The job id of a manifest key `<jobs_prefix><id>.json`, validated; the error names the field
/// (`jobId: ...`).
pub fn job_id_from_manifest_key(jobs_prefix: &str, key: &str) -> Result<JobId, String> {
    let id = key
        .strip_prefix(jobs_prefix)
        .and_then(|r| r.strip_suffix(".json"))
        .ok_or_else(|| format!("jobId: key {key:?} is not {jobs_prefix}<job-id>.json"))?;
    JobId::parse(id).map_err(|e| match e {
        JobIdError::Length(_) => format!("jobId: {id:?} from the key has {e}"),
        JobIdError::Characters => format!("jobId: {id:?} from the key: {e}"),
    })
}

/// `<failed_prefix><manifest key>.error.json`: why a manifest was rejected.
pub fn reason_key(failed_prefix: &str, manifest_key: &str) -> String {
    format!("{failed_prefix}{manifest_key}.error.json")
}

/// `<items_prefix><jobId>.json`: the Distributed Map's items file.
pub fn items_key(items_prefix: &str, job_id: &JobId) -> String {
    format!("{items_prefix}{job_id}.json")
}

/// `<uploads_prefix><jobId>/<file name>`: where `mlpipe images run` puts a job's images.
pub fn upload_key(uploads_prefix: &str, job_id: &JobId, file_name: &str) -> String {
    format!("{uploads_prefix}{job_id}/{file_name}")
}

/// `<prefix><jobId>/`: the folder of a job's generated images (or of its reports).
pub fn job_folder(prefix: &str, job_id: &str) -> String {
    format!("{prefix}{job_id}/")
}

/// `<prefix><jobId>/<image key>/<index>.png`: the whole key (extension included), so two
/// sources that differ only by extension never share outputs. Depends only on the task, so a
/// retried task overwrites its own outputs.
pub fn output_key(prefix: &str, job_id: &str, image_key: &str, index: usize) -> String {
    let key = image_key.trim_start_matches('/');
    format!("{prefix}{job_id}/{key}/{index}.png")
}

/// `<report_prefix><jobId>/<file>` for a file of [`REPORT_FILES`].
pub fn report_key(report_prefix: &str, job_id: &str, file: &str) -> String {
    format!("{report_prefix}{job_id}/{file}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_keys_keep_the_whole_key_so_extensions_never_collide() {
        assert_eq!(
            output_key("generated/", "j", "a/b/c.png", 0),
            "generated/j/a/b/c.png/0.png"
        );
        assert_ne!(
            output_key("g/", "j", "a.png", 0),
            output_key("g/", "j", "a.jpg", 0)
        );
        assert_eq!(output_key("", "j", "c.v2.jpg", 2), "j/c.v2.jpg/2.png");
        assert_eq!(
            output_key("g/", "j", "/x/.hidden", 0),
            "g/j/x/.hidden/0.png"
        );
    }

    #[test]
    fn job_ids_come_from_manifest_keys() {
        let id = job_id_from_manifest_key("jobs/", "jobs/job_2-b.json").unwrap();
        assert_eq!(id, "job_2-b");
        assert_eq!(manifest_key("jobs/", &id), "jobs/job_2-b.json");
        assert_eq!(items_key("items/", &id), "items/job_2-b.json");
        assert_eq!(
            reason_key("failed/", "jobs/job_2-b.json"),
            "failed/jobs/job_2-b.json.error.json"
        );
        assert_eq!(
            upload_key("uploads/", &id, "a.png"),
            "uploads/job_2-b/a.png"
        );
        assert_eq!(
            report_key("reports/", "j", REPORT_FILES[2]),
            "reports/j/report.html"
        );
        assert_eq!(job_folder("generated/", "j"), "generated/j/");
        for (key, start) in [
            (
                "jobs/bad.id!.json",
                "jobId: \"bad.id!\" from the key: only letters",
            ),
            ("jobs/.json", "jobId: \"\" from the key has 0 characters"),
            (
                "uploads/a.json",
                "jobId: key \"uploads/a.json\" is not jobs/<job-id>.json",
            ),
        ] {
            let e = job_id_from_manifest_key("jobs/", key).unwrap_err();
            assert!(e.starts_with(start), "{e}");
        }
        let long = format!("jobs/{}.json", "a".repeat(81));
        let e = job_id_from_manifest_key("jobs/", &long).unwrap_err();
        assert!(
            e.ends_with("from the key has 81 characters, must be 1 to 80"),
            "{e}"
        );
    }
}
