// Package actiontest tests the GitHub Action, action.yml at the repository root, and
// the example workflows in examples/workflows.
//
// The unit tests read action.yml and the workflows (pinned actions, no ${{ }} in
// shell, every input wired) and run scripts/action/install.sh against a local HTTP
// server. With -tags integration, the lint tests run actionlint, shellcheck and
// action-validator, and TestActionWithAct runs the action for real: nektos/act in
// host mode executes testdata/action-test.yml, which builds examples/hello-go with
// `uses: ./` against the suite's Rekor, and the test checks the outputs, the step
// summary and the bundle with slsabox verify. TestKeylessActionWithAct runs
// testdata/action-keyless-test.yml (id-token: write, no key) the same way inside the
// local keyless stack's network namespace, so that the action signs keyless, and
// verifies the bundle by identity. scripts/tools.sh installs the tools.
package actiontest
