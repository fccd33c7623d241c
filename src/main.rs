fn main() {
    husk::main()
}
