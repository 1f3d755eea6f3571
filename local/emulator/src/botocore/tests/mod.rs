//! The validator alone: each rule on hand-made JSON against a small hand-made model in
//! botocore's format; the Java pattern translation; finding and reading the model files.

mod check;
mod java_regex;
mod locate;

use serde_json::{json, Value};

use super::ServiceModel;

/// A model in botocore's format exercising every shape type and constraint.
fn model_json() -> Value {
    json!({
        "version": "2.0",
        "metadata": {"apiVersion": "2024-01-01", "protocol": "rest-json", "serviceId": "Test"},
        "operations": {
            "Put": {"name": "Put", "http": {"method": "POST", "requestUri": "/things/{Id}"},
                    "input": {"shape": "PutRequest"},
                    "errors": [{"shape": "InvalidInputException"}]},
            "Strict": {"name": "Strict", "http": {"method": "POST", "requestUri": "/strict"},
                       "input": {"shape": "PutRequest"},
                       "errors": [{"shape": "InvalidInputException"}, {"shape": "ValidationException"}]},
            "Bare": {"name": "Bare", "http": {"method": "POST", "requestUri": "/bare"},
                     "input": {"shape": "PutRequest"}}
        },
        "shapes": {
            "PutRequest": {"type": "structure", "required": ["Id", "name", "items"], "members": {
                "Id": {"shape": "Name", "location": "uri", "locationName": "Id"},
                "Token": {"shape": "Name", "location": "header", "locationName": "X-Token"},
                "name": {"shape": "Name"},
                "pair": {"shape": "Pair"},
                "count": {"shape": "Count"},
                "big": {"shape": "Long"},
                "small": {"shape": "Byte"},
                "ratio": {"shape": "Ratio"},
                "flag": {"shape": "Bool"},
                "at": {"shape": "Date"},
                "isoAt": {"shape": "Date", "timestampFormat": "iso8601"},
                "data": {"shape": "Data"},
                "items": {"shape": "Items"},
                "sparseItems": {"shape": "SparseItems"},
                "tags": {"shape": "Tags"},
                "color": {"shape": "Color"},
                "choice": {"shape": "Choice"},
                "doc": {"shape": "Doc"},
                "renamed": {"shape": "Name", "locationName": "Renamed"},
                "secret": {"shape": "Secret"}
            }},
            "Name": {"type": "string", "min": 1, "max": 4, "pattern": "[a-z\\d]+"},
            "Pair": {"type": "string", "min": 2, "max": 5},
            "Count": {"type": "integer", "min": 0, "max": 10},
            "Long": {"type": "long"},
            "Byte": {"type": "byte"},
            "Ratio": {"type": "double", "min": 0, "max": 1.5},
            "Bool": {"type": "boolean"},
            "Date": {"type": "timestamp"},
            "Data": {"type": "blob", "max": 3},
            "Items": {"type": "list", "member": {"shape": "Item"}, "min": 1, "max": 2},
            "Item": {"type": "structure", "required": ["id"], "members": {
                "id": {"shape": "Name"}, "note": {"shape": "Name"}}},
            "SparseItems": {"type": "list", "member": {"shape": "Name"}, "sparse": true},
            "Tags": {"type": "map", "key": {"shape": "TagKey"}, "value": {"shape": "TagValue"}, "max": 2},
            "TagKey": {"type": "string", "max": 3, "pattern": "[A-Za-z]+"},
            "TagValue": {"type": "string", "min": 1, "max": 5},
            "Color": {"type": "string", "enum": ["RED", "GREEN"]},
            "Choice": {"type": "structure", "union": true, "members": {
                "a": {"shape": "Name"}, "b": {"shape": "Count"}}},
            "Doc": {"type": "structure", "document": true, "members": {}},
            "Secret": {"type": "string", "max": 3, "sensitive": true},
            "Msg": {"type": "string"},
            "InvalidInputException": {"type": "structure", "members": {"message": {"shape": "Msg"}},
                                      "error": {"httpStatusCode": 400}, "exception": true},
            "ValidationException": {"type": "structure", "members": {"message": {"shape": "Msg"}},
                                    "error": {"httpStatusCode": 400}, "exception": true}
        }
    })
}

fn model_from(json: &Value) -> ServiceModel {
    ServiceModel::from_json("test model", &json.to_string()).unwrap()
}

fn model() -> ServiceModel {
    model_from(&model_json())
}
