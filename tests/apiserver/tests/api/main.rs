//! Integration tests: the server over real HTTP, compared with the captured kube-apiserver
//! answers, exercised through its test controls, and driven by the real kubectl.

mod behaviour;
mod captures;
mod client;
mod controllers;
mod day_two;
mod kubectl;
mod ownership;
mod rollout;
