package target

// KindOf exposes kindOf to the tests of package target_test.
var KindOf = kindOf
