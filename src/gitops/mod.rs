//! Handing deployments to a GitOps engine: Argo CD's plugin ([`argocd`]).
pub mod argocd;
