module slsabox.local/suidbox

go 1.26
