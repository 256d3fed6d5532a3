//! The /ads wizard's pure core (state, step, screens); see the wizard branch.
