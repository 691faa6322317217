use super::*;

fn env(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

fn run(pairs: &[(&str, &str)]) -> Result<Inputs, ArgoCdError> {
    let dir = tempfile::tempdir().unwrap();
    inputs(&env(pairs), dir.path())
}

#[test]
fn escaping_is_argo_cds() {
    assert_eq!(escaped("values-files"), "VALUES_FILES");
    assert_eq!(escaped("image.tag"), "IMAGE_TAG");
    assert_eq!(escaped("podAnnotations.prometheus.io/scrape"), "PODANNOTATIONS_PROMETHEUS_IO_SCRAPE");
}

#[test]
fn the_json_parameters_become_render_inputs() {
    let json = r#"[{"name":"overlay","string":"training"},{"name":"values-files","array":["a.yaml","b.yaml"]},
        {"name":"set","map":{"image.tag":"4.3.0","podAnnotations.team":"ml,infra","args":"{--a,--b}"}},
        {"name":"set-string","map":{"job.backoffLimit":"5"}}]"#;
    let got =
        run(&[("ARGOCD_APP_NAME", "prod"), ("ARGOCD_APP_NAMESPACE", "ml"), ("ARGOCD_APP_PARAMETERS", json)]).unwrap();
    assert_eq!(got.release, "prod");
    assert_eq!(got.namespace.as_deref(), Some("ml"));
    assert_eq!(got.overlay.as_deref(), Some("training"));
    assert_eq!(got.values.files, ["a.yaml", "b.yaml"]);
    assert_eq!(got.values.set, ["image.tag=4.3.0", r"podAnnotations.team=ml\,infra", "args={--a,--b}"]);
    assert_eq!(got.values.set_string, ["job.backoffLimit=5"]);
}

#[test]
fn a_set_value_stays_one_value() {
    use crate::values::set_syntax::{parse, Mode};
    for value in ["a,b", r"back\slash", "x=y", r"trailing\"] {
        let pairs = parse(&set_arg("podAnnotations.k", value), Mode::String).unwrap();
        assert_eq!(pairs.len(), 1, "{value}");
        assert_eq!(pairs[0].1, Value::String(value.to_string()), "{value}");
    }
}

#[test]
fn param_variables_work_without_the_json() {
    let got = run(&[
        ("ARGOCD_APP_NAME", "argocd_prod"),
        ("PARAM_OVERLAY", "inference"),
        ("PARAM_VALUES_FILES_1", "second.yaml"),
        ("PARAM_VALUES_FILES_0", "first.yaml"),
        ("PARAM_SET_IMAGE_TAG", "4.3.0"),
        ("PARAM_SET_STRING_JOB_BACKOFFLIMIT", "5"),
    ])
    .unwrap();
    assert_eq!(got.release, "prod", "the <namespace>_ of an Application elsewhere is not part of its name");
    assert_eq!(got.overlay.as_deref(), Some("inference"));
    assert_eq!(got.values.files, ["first.yaml", "second.yaml"]);
    assert_eq!(got.values.set, ["image.tag=4.3.0"]);
    assert_eq!(got.values.set_string, ["job.backoffLimit=5"]);
}

#[test]
fn the_json_wins_over_the_variables_argo_cd_derives_from_it() {
    let json = r#"[{"name":"set","map":{"podAnnotations.team":"ml"}}]"#;
    let got =
        run(&[("ARGOCD_APP_NAME", "prod"), ("ARGOCD_APP_PARAMETERS", json), ("PARAM_SET_PODANNOTATIONS_TEAM", "ml")])
            .unwrap();
    assert_eq!(got.values.set, ["podAnnotations.team=ml"]);
    let got = run(&[("ARGOCD_APP_NAME", "prod"), ("ARGOCD_APP_PARAMETERS", "null")]).unwrap();
    assert_eq!((got.release.as_str(), got.overlay, got.namespace), ("prod", None, None));
    assert!(got.values.is_empty());
}

#[test]
fn application_env_is_read_under_its_prefix() {
    let got = run(&[
        ("ARGOCD_APP_NAME", "prod"),
        ("ARGOCD_ENV_OVERLAY", "batch"),
        ("ARGOCD_ENV_VALUES_FILES", "a.yaml, b.yaml"),
        ("ARGOCD_ENV_SET", "image.tag=4.3.0,job.parallelism=3"),
        ("ARGOCD_ENV_RELEASE_NAME", "nightly"),
    ])
    .unwrap();
    assert_eq!(got.release, "nightly");
    assert_eq!(got.overlay.as_deref(), Some("batch"));
    assert_eq!(got.values.files, ["a.yaml", "b.yaml"]);
    assert_eq!(got.values.set, ["image.tag=4.3.0,job.parallelism=3"]);
}

#[test]
fn bad_parameters_are_named() {
    let base = [("ARGOCD_APP_NAME", "prod")];
    let with = |extra: &[(&str, &str)]| {
        let mut all = base.to_vec();
        all.extend_from_slice(extra);
        run(&all).unwrap_err().to_string()
    };
    let e = with(&[("ARGOCD_APP_PARAMETERS", r#"[{"name":"overlays","string":"x"}]"#)]);
    assert!(e.contains("unknown plugin parameter `overlays`") && e.contains("did you mean `overlay`"), "{e}");
    let e = with(&[("ARGOCD_APP_PARAMETERS", r#"[{"name":"set","string":"image.tag=1"}]"#)]);
    assert!(e.contains("`set` must be given as a map (`map:`") && e.contains("not as a string"), "{e}");
    let e = with(&[("ARGOCD_APP_PARAMETERS", "{not json")]);
    assert!(e.starts_with("ARGOCD_APP_PARAMETERS is not the JSON list"), "{e}");
    let e = with(&[("ARGOCD_APP_PARAMETERS", r#"{"name":"set"}"#)]);
    assert!(e.contains("expected a list, got an object"), "{e}");
    let e = with(&[("ARGOCD_APP_PARAMETERS", r#"[{"name":"set","map":{"a":1}}]"#)]);
    assert!(e.contains("map value of `a` is not a string"), "{e}");
    let e = with(&[("ARGOCD_ENV_OVERLAYS", "x")]);
    assert!(e.contains("ARGOCD_ENV_OVERLAYS") && e.contains("did you mean `ARGOCD_ENV_OVERLAY`"), "{e}");
    let e = with(&[("ARGOCD_ENV_OVERLAY", "batch"), ("ARGOCD_APP_PARAMETERS", r#"[{"name":"overlay","string":"x"}]"#)]);
    assert!(e.contains("`overlay` is given twice") && e.contains("ARGOCD_ENV_OVERLAY"), "{e}");
    let e = with(&[("PARAM_SET_NOPE", "1")]);
    assert!(e.starts_with("PARAM_SET_NOPE: cannot tell which values key `NOPE`"), "{e}");
    let e = with(&[("PARAM_VALUES_FILES", "a.yaml")]);
    assert!(e.contains("PARAM_VALUES_FILES") && e.contains("an array"), "{e}");
    let e = with(&[("PARAM_OVERLY", "x")]);
    assert!(e.contains("did you mean PARAM_OVERLAY"), "{e}");
    let e = run(&[("ARGOCD_APP_NAME", "My.App")]).unwrap_err().to_string();
    assert!(e.contains("ARGOCD_APP_NAME `My.App`") && e.contains("release-name"), "{e}");
    let e = run(&[]).unwrap_err().to_string();
    assert!(e.contains("ARGOCD_APP_NAME is not set"), "{e}");
}

#[test]
fn paths_stay_inside_the_repository() {
    let repo = tempfile::tempdir().unwrap();
    let app = repo.path().join("apps/ml");
    std::fs::create_dir_all(&app).unwrap();
    std::fs::write(repo.path().join("shared.yaml"), "{}").unwrap();
    std::fs::write(app.join("values.yaml"), "{}").unwrap();
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(outside.path().join("token"), "secret").unwrap();
    #[cfg(unix)]
    std::os::unix::fs::symlink(outside.path().join("token"), app.join("link.yaml")).unwrap();
    let files = |list: &str| {
        let json = format!(r#"[{{"name":"values-files","array":{list}}}]"#);
        let e = env(&[
            ("ARGOCD_APP_NAME", "prod"),
            ("ARGOCD_APP_SOURCE_PATH", "apps/ml"),
            ("ARGOCD_APP_PARAMETERS", &json),
        ]);
        inputs(&e, &app).map(|i| i.values.files)
    };
    assert_eq!(files(r#"["values.yaml", "../../shared.yaml"]"#).unwrap(), ["values.yaml", "../../shared.yaml"]);
    let from_root = files(r#"["/shared.yaml"]"#).unwrap();
    assert!(from_root[0].ends_with("shared.yaml") && Path::new(&from_root[0]).exists(), "{from_root:?}");
    for bad in ["../../../etc/passwd", "../../../nope.yaml", "/../../x.yaml"] {
        let e = files(&format!(r#"["{bad}"]"#)).unwrap_err().to_string();
        assert!(e.contains("outside the repository"), "{bad}: {e}");
    }
    #[cfg(unix)]
    assert!(files(r#"["link.yaml"]"#).unwrap_err().to_string().contains("`link.yaml` is outside the repository"));
}
