//! Handing deployments to a GitOps engine: Argo CD's plugin ([`argocd`]) and the eject to plain
//! Kustomize ([`eject`]).
pub mod argocd;
pub mod eject;
