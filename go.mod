module github.com/orymfa/orymfa

go 1.26
