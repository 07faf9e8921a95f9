module github.com/orymfa/orymfa/gin

go 1.26.0

require github.com/orymfa/orymfa v0.0.0

replace github.com/orymfa/orymfa => ../
