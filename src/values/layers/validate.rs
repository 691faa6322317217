//! Combinations of values the chart cannot mean, refused before anything is patched, each
//! naming the key and where it was set. Kubernetes' own rules for each field are in
//! [`crate::values::rules`], checked before the layer is built.

use super::context::{invalid, Ctx};
use crate::values::presets::Workload;
use crate::values::ValuesError;

/// Combinations the chart cannot mean (Kubernetes' own rules are in `rules`).
pub(super) fn validate(cx: &Ctx) -> Result<(), ValuesError> {
    let kind = cx.found.kind;
    if cx.user.touched("autoscaling.enabled") && cx.on("autoscaling.enabled") && kind != Workload::Deployment {
        return Err(invalid(cx, "autoscaling.enabled", format!("an autoscaler scales a Deployment, but this workload is a {} (set workloadType: deployment or drop autoscaling)", kind.kind())));
    }
    if cx.user.touched("ingress.enabled") && cx.on("ingress.enabled") && kind != Workload::Deployment {
        return Err(invalid(
            cx,
            "ingress.enabled",
            format!("an Ingress needs the deployment's Service; a {} serves nothing", kind.kind()),
        ));
    }
    Ok(())
}
