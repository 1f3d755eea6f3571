//! Labels to keep, resolved to boxes: Stability takes no label prompt (Titan's `maskPrompt`),
//! so a job's `labels` become the instance bounding boxes Rekognition DetectLabels returns for
//! them (the same boxes the `detect-labels` API shows for a manifest's `maskBoxes`).
//!
//! A requested label matches a detected label of that name, or one whose parents include it
//! (asking for `Vehicle` keeps every `Car` instance), compared without case. Labels without
//! instances (scene labels such as `Outdoors`) give no box.

use super::mask::BoundingBox;
use shared_core::PipelineError;

/// One occurrence of a label, as fractions of the image (as displayed: Rekognition applies the
/// EXIF orientation before locating objects).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DetectedInstance {
    pub confidence: f64,
    pub bounding_box: BoundingBox,
}

/// A label Rekognition found.
#[derive(Debug, Clone, PartialEq)]
pub struct DetectedLabel {
    pub name: String,
    pub parents: Vec<String>,
    pub instances: Vec<DetectedInstance>,
}

/// The boxes of every instance of the requested labels; an error naming the field, the labels
/// asked for and what was found when none has a box.
pub fn boxes_for_labels(
    field: &str,
    wanted: &[String],
    detected: &[DetectedLabel],
) -> Result<Vec<BoundingBox>, PipelineError> {
    let wanted: Vec<&str> = wanted
        .iter()
        .map(|w| w.trim())
        .filter(|w| !w.is_empty())
        .collect();
    let matches = |label: &DetectedLabel| {
        wanted.iter().any(|w| {
            label.name.eq_ignore_ascii_case(w)
                || label.parents.iter().any(|p| p.eq_ignore_ascii_case(w))
        })
    };
    let mut boxes: Vec<BoundingBox> = Vec::new();
    for label in detected.iter().filter(|l| matches(l)) {
        for instance in &label.instances {
            if !boxes.contains(&instance.bounding_box) {
                boxes.push(instance.bounding_box);
            }
        }
    }
    if boxes.is_empty() {
        let mut found: Vec<&str> = detected
            .iter()
            .filter(|l| !l.instances.is_empty())
            .map(|l| l.name.as_str())
            .collect();
        found.truncate(20);
        let found = if found.is_empty() {
            "no object with a bounding box".to_owned()
        } else {
            format!("objects with boxes: {}", found.join(", "))
        };
        return Err(PipelineError::invalid_input(format!(
            "{field}: Rekognition found no instance of {} in the image ({found}); use other labels or maskBoxes",
            wanted.join(", ")
        )));
    }
    Ok(boxes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared_core::ErrorKind;

    fn bb(left: f64) -> BoundingBox {
        BoundingBox {
            left,
            top: 0.1,
            width: 0.2,
            height: 0.3,
        }
    }

    fn label(name: &str, parents: &[&str], lefts: &[f64]) -> DetectedLabel {
        DetectedLabel {
            name: name.into(),
            parents: parents.iter().map(|p| p.to_string()).collect(),
            instances: lefts
                .iter()
                .map(|&l| DetectedInstance {
                    confidence: 90.0,
                    bounding_box: bb(l),
                })
                .collect(),
        }
    }

    #[test]
    fn labels_match_by_name_or_parent_without_case() {
        let detected = vec![
            label("Car", &["Vehicle", "Transportation"], &[0.1, 0.5]),
            label("Bottle", &[], &[0.7]),
            label("Outdoors", &[], &[]),
        ];
        let w = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            boxes_for_labels("image.labels", &w(&["bottle"]), &detected).unwrap(),
            vec![bb(0.7)]
        );
        assert_eq!(
            boxes_for_labels("image.labels", &w(&["vehicle", " Car "]), &detected).unwrap(),
            vec![bb(0.1), bb(0.5)]
        );
        let e =
            boxes_for_labels("image.labels", &w(&["Laptop", "Outdoors"]), &detected).unwrap_err();
        assert_eq!(e.kind, ErrorKind::InvalidInput);
        assert_eq!(
            e.message,
            "image.labels: Rekognition found no instance of Laptop, Outdoors in the image (objects with boxes: Car, Bottle); use other labels or maskBoxes"
        );
        let e = boxes_for_labels("image.labels", &w(&["x"]), &[]).unwrap_err();
        assert!(e.message.contains("no object with a bounding box"));
    }
}
